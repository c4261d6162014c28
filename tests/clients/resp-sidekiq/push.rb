# Pushes the scenario's jobs (tests/integration/test_redis_libs_sidekiq.py).
require_relative "jobs"
20.times { |i| AddJob.perform_async(i) }
FlakyJob.perform_async("f1")
BoomJob.perform_async
LaterJob.perform_in(1, 40)
SlowJob.perform_async("victim")
puts "pushed"
