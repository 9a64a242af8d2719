package cachetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache"
)

// deliveryTimeout bounds the wait for a message or a closed channel.
const deliveryTimeout = 3 * time.Second

func subscribe(t *testing.T, c cache.Cache, ctx context.Context, channel string) <-chan []byte {
	t.Helper()
	ch, err := c.Subscribe(ctx, channel)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", channel, err)
	}
	return ch
}

func publish(t *testing.T, c cache.Cache, channel, msg string) {
	t.Helper()
	if err := c.Publish(ctx(t), channel, []byte(msg)); err != nil {
		t.Fatalf("Publish(%q, %q): %v", channel, msg, err)
	}
}

// receive waits for the next message on ch and checks it is want.
func receive(t *testing.T, ch <-chan []byte, who, want string) {
	t.Helper()
	select {
	case got, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed, want message %q", who, want)
		}
		if string(got) != want {
			t.Fatalf("%s received %q, want %q", who, got, want)
		}
	case <-time.After(deliveryTimeout):
		t.Fatalf("%s: no message after %v, want %q", who, deliveryTimeout, want)
	}
}

// drainUntilClosed reads ch until it closes, failing on any message in
// forbidden or if it stays open.
func drainUntilClosed(t *testing.T, ch <-chan []byte, forbidden ...string) {
	t.Helper()
	deadline := time.After(deliveryTimeout)
	for {
		select {
		case got, ok := <-ch:
			if !ok {
				return
			}
			for _, f := range forbidden {
				if string(got) == f {
					t.Fatalf("received %q after the subscription ended", got)
				}
			}
		case <-deadline:
			t.Fatalf("subscription channel still open after %v", deliveryTimeout)
		}
	}
}

// pubsubTests cover Publish and Subscribe.
var pubsubTests = []test{
	{"PubSub/every subscriber receives, in order", func(t *testing.T, c cache.Cache, ks keyspace) {
		channel := ks.key("events")
		a := subscribe(t, c, ctx(t), channel)
		b := subscribe(t, c, ctx(t), channel)
		// No sleep: the subscription is in place when Subscribe returns.
		for i := range 5 {
			publish(t, c, channel, fmt.Sprint("m", i))
		}
		for i := range 5 {
			receive(t, a, "subscriber a", fmt.Sprint("m", i))
			receive(t, b, "subscriber b", fmt.Sprint("m", i))
		}
	}},
	{"PubSub/binary payload", func(t *testing.T, c cache.Cache, ks keyspace) {
		channel := ks.key("bin")
		ch := subscribe(t, c, ctx(t), channel)
		msg := "\x00\xff\n\r\x00end"
		publish(t, c, channel, msg)
		receive(t, ch, "subscriber", msg)
	}},
	{"PubSub/channels are separate", func(t *testing.T, c cache.Cache, ks keyspace) {
		x, y := ks.key("x"), ks.key("y")
		ych := subscribe(t, c, ctx(t), y)
		publish(t, c, x, "for x")
		publish(t, c, y, "for y")
		receive(t, ych, "subscriber of y", "for y")
	}},
	{"PubSub/publish without subscribers", func(t *testing.T, c cache.Cache, ks keyspace) {
		publish(t, c, ks.key("nobody"), "m")
	}},
	{"PubSub/cancel ends the subscription", func(t *testing.T, c cache.Cache, ks keyspace) {
		channel := ks.key("events")
		sctx, cancel := context.WithCancel(ctx(t))
		ended := subscribe(t, c, sctx, channel)
		live := subscribe(t, c, ctx(t), channel)
		publish(t, c, channel, "before")
		receive(t, ended, "cancelled subscriber", "before")
		receive(t, live, "live subscriber", "before")

		cancel()
		publish(t, c, channel, "after")
		receive(t, live, "live subscriber", "after") // it was published
		drainUntilClosed(t, ended, "after")
	}},
	{"PubSub/subscribe with a cancelled context fails", func(t *testing.T, c cache.Cache, ks keyspace) {
		sctx, cancel := context.WithCancel(ctx(t))
		cancel()
		if ch, err := c.Subscribe(sctx, ks.key("events")); !errors.Is(err, context.Canceled) || ch != nil {
			t.Fatalf("Subscribe with cancelled ctx = %v, %v; want nil, context.Canceled", ch, err)
		}
	}},
	{"PubSub/Close ends subscriptions", func(t *testing.T, c cache.Cache, ks keyspace) {
		channel := ks.key("events")
		ch := subscribe(t, c, ctx(t), channel)
		publish(t, c, channel, "m")
		receive(t, ch, "subscriber", "m")
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		drainUntilClosed(t, ch)
	}},
}
