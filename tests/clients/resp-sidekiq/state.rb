# Prints the queue state as JSON (tests/integration/test_redis_libs_sidekiq.py).
require_relative "jobs"
require "sidekiq/api"
require "json"
stats = Sidekiq::Stats.new
puts JSON.generate(
  processed: stats.processed, failed: stats.failed, enqueued: stats.enqueued,
  scheduled: stats.scheduled_size, retries: stats.retry_size, dead: stats.dead_size,
  dead_jobs: Sidekiq::DeadSet.new.map { |j| [j.klass, j["error_message"], j["retry_count"]] },
  results: Sidekiq.redis { |r| r.lrange("results", 0, -1) }.sort
)
