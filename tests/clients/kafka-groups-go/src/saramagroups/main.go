// saramagroups drives Sarama 1.22.1's ConsumerGroup (Debian) against
// sluiced, for tests/integration/test_kafka_groups_sarama.py.
// Usage: saramagroups HOST:PORT TOPIC COUNT
//
// Three runs over a topic that already holds COUNT messages:
//   basic  — group "sg-basic": Setup / ConsumeClaim / MarkMessage for each
//            message until COUNT arrived, then Close (commits).
//   replay — group "sg-basic" again: Setup calls
//            ResetOffset(topic, p, OffsetOldest, "") for each claimed
//            partition, so the committed history is consumed once more.
//   batch  — group "sg-batch": ConsumeClaim collects up to 50 messages or
//            whatever arrived within 1 s, processes them concurrently, then
//            marks them all.
// Prints one JSON object; the pytest side checks every message.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

type rec struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Value     string `json:"value"`
}

type collector struct {
	mu   sync.Mutex
	recs []rec
	want int
	done chan struct{}
	once sync.Once
}

func (c *collector) add(m *sarama.ConsumerMessage) {
	c.mu.Lock()
	c.recs = append(c.recs, rec{m.Partition, m.Offset, string(m.Value)})
	n := len(c.recs)
	c.mu.Unlock()
	if n >= c.want {
		c.once.Do(func() { close(c.done) })
	}
}

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

func config() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_0_0_0 // consumer groups need >= 0.10.2
	c.ClientID = "sluice-sarama-groups"
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	c.Consumer.Group.Session.Timeout = 10 * time.Second
	c.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	c.Consumer.Return.Errors = true
	c.Consumer.MaxWaitTime = 200 * time.Millisecond
	c.Metadata.Retry.Max = 10
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	return c
}

// simple marks every message after recording it.
type simple struct {
	col    *collector
	replay bool
	topic  string
}

func (h *simple) Setup(s sarama.ConsumerGroupSession) error {
	if h.replay {
		for _, p := range s.Claims()[h.topic] {
			s.ResetOffset(h.topic, p, sarama.OffsetOldest, "")
		}
	}
	return nil
}

func (h *simple) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *simple) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.col.add(m)
		s.MarkMessage(m, "")
	}
	return nil
}

// batcher collects up to batchMax messages or for up to one second,
// processes the batch concurrently, then marks every message of it.
type batcher struct {
	col       *collector
	processed sync.Map // "partition/offset" -> value, written by the workers
}

const batchMax = 50

func (h *batcher) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *batcher) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *batcher) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	msgs := claim.Messages()
	for closed := false; !closed; {
		var batch []*sarama.ConsumerMessage
		timer := time.NewTimer(time.Second)
	collect:
		for len(batch) < batchMax {
			select {
			case m, ok := <-msgs:
				if !ok {
					closed = true
					break collect
				}
				batch = append(batch, m)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		if len(batch) == 0 {
			continue
		}
		var wg sync.WaitGroup
		for _, m := range batch {
			wg.Add(1)
			go func(m *sarama.ConsumerMessage) {
				defer wg.Done()
				key := strconv.Itoa(int(m.Partition)) + "/" + strconv.FormatInt(m.Offset, 10)
				h.processed.Store(key, string(m.Value))
			}(m)
		}
		wg.Wait()
		for _, m := range batch {
			s.MarkMessage(m, "")
			h.col.add(m)
		}
	}
	return nil
}

// run consumes with one group member until the collector is full.
func run(addr, group, topic string, want int, handler func(*collector) sarama.ConsumerGroupHandler) []rec {
	g, err := sarama.NewConsumerGroup([]string{addr}, group, config())
	if err != nil {
		die("NewConsumerGroup %s: %v", group, err)
	}
	go func() {
		for err := range g.Errors() {
			fmt.Fprintf(os.Stderr, "group %s: %v\n", group, err)
		}
	}()
	col := &collector{want: want, done: make(chan struct{})}
	h := handler(col)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{topic}, h); err != nil {
				fmt.Fprintf(os.Stderr, "consume %s: %v\n", group, err)
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
	select {
	case <-col.done:
	case <-time.After(90 * time.Second):
		die("group %s: timed out with %d of %d messages", group, len(col.recs), want)
	}
	cancel()
	<-stopped
	if err := g.Close(); err != nil {
		die("close %s: %v", group, err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	return col.recs
}

func main() {
	if len(os.Args) != 4 {
		die("usage: saramagroups HOST:PORT TOPIC COUNT")
	}
	addr, topic := os.Args[1], os.Args[2]
	count, err := strconv.Atoi(os.Args[3])
	if err != nil {
		die("bad count: %v", err)
	}
	out := map[string]interface{}{}
	out["basic"] = run(addr, "sg-basic", topic, count, func(c *collector) sarama.ConsumerGroupHandler {
		return &simple{col: c, topic: topic}
	})
	out["replay"] = run(addr, "sg-basic", topic, count, func(c *collector) sarama.ConsumerGroupHandler {
		return &simple{col: c, replay: true, topic: topic}
	})
	var b *batcher
	out["batch"] = run(addr, "sg-batch", topic, count, func(c *collector) sarama.ConsumerGroupHandler {
		b = &batcher{col: c}
		return b
	})
	processed := map[string]string{}
	b.processed.Range(func(k, v interface{}) bool {
		processed[k.(string)] = v.(string)
		return true
	})
	out["processed"] = processed
	enc, err := json.Marshal(out)
	if err != nil {
		die("json: %v", err)
	}
	os.Stdout.Write(enc)
}
