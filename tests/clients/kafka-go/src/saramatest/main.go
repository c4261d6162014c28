// saramatest drives Sarama 1.22.1 (Debian) against sluiced: a SyncProducer
// and an AsyncProducer with headers under each partitioner, then a partition
// consumer from the oldest offset. Usage: saramatest HOST:PORT VERSION
// Prints one JSON object with what it observed; the pytest side asserts.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/Shopify/sarama"
)

type record struct {
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       string            `json:"key"`
	Value     string            `json:"value"`
	Headers   map[string]string `json:"headers"`
}

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

func config(version sarama.KafkaVersion) *sarama.Config {
	c := sarama.NewConfig()
	c.Version = version
	c.ClientID = "sluice-sarama"
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Metadata.Retry.Max = 10
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	return c
}

func main() {
	broker, vname := os.Args[1], os.Args[2]
	version, err := sarama.ParseKafkaVersion(vname)
	if err != nil {
		die("version: %v", err)
	}
	out := map[string]interface{}{}

	// Topics with 4 partitions, so partitioners have a choice.
	admin, err := sarama.NewClusterAdmin([]string{broker}, config(version))
	if err != nil {
		die("admin: %v", err)
	}
	partitioners := map[string]sarama.PartitionerConstructor{
		"hash":       sarama.NewHashPartitioner,
		"roundrobin": sarama.NewRoundRobinPartitioner,
		"random":     sarama.NewRandomPartitioner,
		"manual":     sarama.NewManualPartitioner,
	}
	names := []string{"hash", "roundrobin", "random", "manual"}
	for _, n := range names {
		if err := admin.CreateTopic("sarama-"+n, &sarama.TopicDetail{NumPartitions: 4, ReplicationFactor: 1}, false); err != nil {
			die("create topic: %v", err)
		}
	}
	admin.Close()

	sync := map[string][]int64{}
	for _, n := range names {
		cfg := config(version)
		cfg.Producer.Partitioner = partitioners[n]
		cfg.Producer.Compression = sarama.CompressionLZ4
		p, err := sarama.NewSyncProducer([]string{broker}, cfg)
		if err != nil {
			die("sync producer: %v", err)
		}
		var placed []int64
		for i := 0; i < 40; i++ {
			msg := &sarama.ProducerMessage{
				Topic:     "sarama-" + n,
				Key:       sarama.StringEncoder(fmt.Sprintf("key-%d", i%7)),
				Value:     sarama.StringEncoder(fmt.Sprintf("sync-%d", i)),
				Headers:   []sarama.RecordHeader{{Key: []byte("h"), Value: []byte(fmt.Sprintf("%d", i))}},
				Partition: int32(i % 4),
			}
			part, off, err := p.SendMessage(msg)
			if err != nil {
				die("send: %v", err)
			}
			placed = append(placed, int64(part)<<32|off)
		}
		p.Close()
		sync[n] = placed
	}
	out["sync"] = sync

	// AsyncProducer: 400 messages with headers, hash partitioner.
	cfg := config(version)
	ap, err := sarama.NewAsyncProducer([]string{broker}, cfg)
	if err != nil {
		die("async producer: %v", err)
	}
	go func() {
		for i := 0; i < 400; i++ {
			ap.Input() <- &sarama.ProducerMessage{
				Topic:   "sarama-hash",
				Key:     sarama.StringEncoder(fmt.Sprintf("akey-%d", i%13)),
				Value:   sarama.StringEncoder(fmt.Sprintf("async-%d", i)),
				Headers: []sarama.RecordHeader{{Key: []byte("a"), Value: []byte("b")}},
			}
		}
	}()
	ok, failed := 0, 0
	deadline := time.After(60 * time.Second)
	for ok+failed < 400 {
		select {
		case <-ap.Successes():
			ok++
		case e := <-ap.Errors():
			fmt.Fprintln(os.Stderr, e.Err)
			failed++
		case <-deadline:
			die("async producer timed out after %d", ok+failed)
		}
	}
	ap.Close()
	out["async_ok"] = ok
	out["async_failed"] = failed

	// Partition consumers from the oldest offset, every partition of sarama-hash.
	consumer, err := sarama.NewConsumer([]string{broker}, config(version))
	if err != nil {
		die("consumer: %v", err)
	}
	var recs []record
	for part := int32(0); part < 4; part++ {
		client, _ := sarama.NewClient([]string{broker}, config(version))
		hw, err := client.GetOffset("sarama-hash", part, sarama.OffsetNewest)
		client.Close()
		if err != nil {
			die("offset: %v", err)
		}
		if hw == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition("sarama-hash", part, sarama.OffsetOldest)
		if err != nil {
			die("consume: %v", err)
		}
		timeout := time.After(30 * time.Second)
	loop:
		for {
			select {
			case m := <-pc.Messages():
				h := map[string]string{}
				for _, rh := range m.Headers {
					h[string(rh.Key)] = string(rh.Value)
				}
				recs = append(recs, record{m.Partition, m.Offset, string(m.Key), string(m.Value), h})
				if m.Offset+1 >= hw {
					break loop
				}
			case e := <-pc.Errors():
				die("consume error: %v", e)
			case <-timeout:
				die("consume timed out on partition %d", part)
			}
		}
		pc.Close()
	}
	consumer.Close()
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Partition != recs[j].Partition {
			return recs[i].Partition < recs[j].Partition
		}
		return recs[i].Offset < recs[j].Offset
	})
	out["consumed"] = recs
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
