# Sidekiq jobs for tests/integration/test_redis_libs_sidekiq.py (Debian's
# ruby-sidekiq 6.4), loaded by the `sidekiq -r ./jobs.rb` worker processes
# and by push.rb / state.rb. REDIS_URL points at sluiced; WORKER names the
# process in results.
#
#   AddJob(x)     x+100, recorded in the list "results"
#   FlakyJob(n)   fails twice (counter "attempts:<n>"), retried after 1 s
#   BoomJob       always fails; one retry, then the dead set
#   LaterJob(x)   scheduled 1 s ahead (the scheduled-set poller: a Lua script)
#   SlowJob(n)    the first run hangs until its worker is stopped; Sidekiq
#                 puts it back on SIGTERM and another process finishes it
require "sidekiq"

Sidekiq.configure_server do |config|
  config.options[:poll_interval_average] = 1 # no 10 s initial wait, poll every ~1 s
end

def record(s)
  Sidekiq.redis { |r| r.rpush("results", s) }
end

class AddJob
  include Sidekiq::Job
  def perform(x)
    record("add #{x}=#{x + 100}")
  end
end

class FlakyJob
  include Sidekiq::Job
  sidekiq_options retry: 3
  sidekiq_retry_in { |_count, _exc| 1 }
  def perform(name)
    n = Sidekiq.redis { |r| r.incr("attempts:#{name}") }
    raise "attempt #{n} failed" if n <= 2
    record("flaky #{name}=#{n}")
  end
end

class BoomJob
  include Sidekiq::Job
  sidekiq_options retry: 1
  sidekiq_retry_in { |_count, _exc| 1 }
  def perform
    raise "always fails"
  end
end

class LaterJob
  include Sidekiq::Job
  def perform(x)
    record("later #{x + 2}")
  end
end

class SlowJob
  include Sidekiq::Job
  def perform(name)
    if Sidekiq.redis { |r| r.set("running:#{name}", ENV["WORKER"], nx: true) }
      sleep # until the process stops; Sidekiq requeues the job
    end
    record("slow #{name} by #{ENV["WORKER"]}")
  end
end
