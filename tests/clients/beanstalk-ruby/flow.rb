# Beaneater 1.1.1 (Debian ruby-beaneater) against sluiced: put, reserve,
# delete, release, bury, kick, peek and stats flows. Usage: flow.rb PORT.
# Prints "OK <n checks>" and exits 0, or raises (non-zero exit).
require 'beaneater'

$checks = 0
def check(cond, what)
  raise "check failed: #{what}" unless cond
  $checks += 1
end

bs = Beaneater.new("127.0.0.1:#{ARGV[0]}")
tube = bs.tubes['ruby-tube']
bs.tubes.watch!('ruby-tube')
check(bs.tubes.watched.map(&:name) == ['ruby-tube'], 'watched')

r1 = tube.put('first', pri: 20, ttr: 30)
r2 = tube.put('second', pri: 10, ttr: 30)
check(r1[:status] == 'INSERTED' && r2[:id].to_i > r1[:id].to_i, 'put ids')

job = bs.tubes.reserve(1)
check(job.body == 'second' && job.id.to_i == r2[:id].to_i, 'priority order')
job.delete
check(bs.jobs.find(r2[:id]).nil?, 'deleted job gone')

job = bs.tubes.reserve(1)
check(job.body == 'first', 'reserve first')
job.release(pri: 5)
check(job.stats.state == 'ready' && job.stats.pri == 5 && job.stats.releases == 1, 'release')

job = bs.tubes.reserve(1)
job.bury
check(job.stats.state == 'buried', 'bury')
check(tube.peek(:buried).id.to_i == job.id.to_i, 'peek buried')
check(tube.kick(3)[:status] == "KICKED", "kick reply")
check(bs.jobs.find(job.id).stats.state == 'ready', 'kicked')

job = bs.tubes.reserve(1)
job.touch
check(job.stats.reserves == 3, 'reserves counted')
job.delete

tube.put('later', delay: 1)
check(tube.peek(:delayed).body == 'later', 'peek delayed')
begin
  bs.tubes.reserve(0)
  check(false, 'nothing should be ready')
rescue Beaneater::TimedOutError
  check(true, 'timed out')
end
job = bs.tubes.reserve(3)
check(job.body == 'later', 'delayed job arrives')
job.delete

check(tube.stats.current_jobs_ready == 0 && tube.stats.name == 'ruby-tube', 'tube stats')
check(bs.stats.total_jobs >= 3, 'server stats')
check(bs.tubes.all.map(&:name).include?('ruby-tube'), 'list tubes')
bs.close
puts "OK #{$checks}"
