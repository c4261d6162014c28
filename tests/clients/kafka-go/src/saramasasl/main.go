// saramasasl drives Sarama 1.22.1 (Debian) over SASL_PLAINTEXT: PLAIN, or
// SCRAM-SHA-512 with a small RFC 5802 client (Debian packages no SCRAM
// library for Sarama). It produces two messages and reads them back, or
// reports the error of a failed login.
// Usage: saramasasl HOST:PORT PLAIN|SCRAM-SHA-512 USER PASSWORD TOPIC
// Prints one JSON object; the pytest side asserts.
package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

type scram struct {
	user, pass, cfb, nonce string
	serverSig              []byte
	step                   int
}

func hmac512(key, msg []byte) []byte {
	m := hmac.New(sha512.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// hi is PBKDF2-HMAC-SHA512 with one block of output (RFC 5802 Hi()).
func hi(pass, salt []byte, iter int) []byte {
	u := hmac512(pass, append(append([]byte{}, salt...), 0, 0, 0, 1))
	out := append([]byte{}, u...)
	for i := 1; i < iter; i++ {
		u = hmac512(pass, u)
		for k := range out {
			out[k] ^= u[k]
		}
	}
	return out
}

func (s *scram) Begin(user, pass, authz string) error {
	b := make([]byte, 18)
	rand.Read(b)
	s.user, s.pass, s.nonce = user, pass, base64.StdEncoding.EncodeToString(b)
	return nil
}

func (s *scram) Step(challenge string) (string, error) {
	s.step++
	switch s.step {
	case 1:
		s.cfb = "n=" + s.user + ",r=" + s.nonce
		return "n,," + s.cfb, nil
	case 2:
		attrs := map[string]string{}
		for _, f := range strings.Split(challenge, ",") {
			if len(f) > 2 {
				attrs[f[:1]] = f[2:]
			}
		}
		salt, _ := base64.StdEncoding.DecodeString(attrs["s"])
		iter, _ := strconv.Atoi(attrs["i"])
		if !strings.HasPrefix(attrs["r"], s.nonce) {
			return "", errors.New("server nonce does not extend ours")
		}
		salted := hi([]byte(s.pass), salt, iter)
		ck := hmac512(salted, []byte("Client Key"))
		sk := sha512.Sum512(ck)
		wo := "c=biws,r=" + attrs["r"]
		am := []byte(s.cfb + "," + challenge + "," + wo)
		sig := hmac512(sk[:], am)
		for i := range ck {
			ck[i] ^= sig[i]
		}
		s.serverSig = hmac512(hmac512(salted, []byte("Server Key")), am)
		return wo + ",p=" + base64.StdEncoding.EncodeToString(ck), nil
	default:
		if challenge != "v="+base64.StdEncoding.EncodeToString(s.serverSig) {
			return "", errors.New("bad server signature")
		}
		return "", nil
	}
}

func (s *scram) Done() bool { return s.step >= 3 }

func out(v interface{}) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func main() {
	broker, mech, user, pass, topic := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	c := sarama.NewConfig()
	c.Version = sarama.V2_0_0_0
	c.ClientID = "sluice-sarama-sasl"
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Metadata.Retry.Max = 0
	c.Net.SASL.Enable = true
	c.Net.SASL.User = user
	c.Net.SASL.Password = pass
	if mech == "SCRAM-SHA-512" {
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scram{} }
	} else {
		c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	}
	p, err := sarama.NewSyncProducer([]string{broker}, c)
	if err != nil {
		out(map[string]string{"error": err.Error()})
		return
	}
	for _, v := range []string{"one", "two"} {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(v)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	p.Close()
	cons, err := sarama.NewConsumer([]string{broker}, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pc, err := cons.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var got []string
	deadline := time.After(60 * time.Second)
	for len(got) < 2 {
		select {
		case m := <-pc.Messages():
			got = append(got, string(m.Value))
		case <-deadline:
			fmt.Fprintln(os.Stderr, "timed out")
			os.Exit(1)
		}
	}
	pc.Close()
	cons.Close()
	out(map[string][]string{"got": got})
}
