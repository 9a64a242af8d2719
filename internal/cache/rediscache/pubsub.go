package rediscache

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// SubscriptionBuffer is how many undelivered messages a subscription
	// holds; further messages are dropped until the reader catches up.
	SubscriptionBuffer = 256
	// subscribeTimeout bounds the wait for Redis to confirm a subscription
	// when ctx has no earlier deadline.
	subscribeTimeout = 5 * time.Second
)

// Subscribe implements cache.Cache. It returns once Redis has confirmed
// the subscription, so a message published after it returns is received.
// If the connection drops, go-redis reconnects and resubscribes; messages
// published meanwhile are lost.
func (c *Cache) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return nil, errClosed
	}
	c.subs.Add(1) // Close waits for this subscription from here on
	c.mu.Unlock()

	ps := c.rdb.Subscribe(ctx, c.key(channel))
	timeout := subscribeTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	reply, err := ps.ReceiveTimeout(ctx, timeout)
	if err == nil {
		if _, ok := reply.(*redis.Subscription); !ok {
			err = fmt.Errorf("unexpected reply %T", reply)
		}
	}
	if err != nil {
		_ = ps.Close()
		c.subs.Done()
		return nil, mapErr("subscribe", err)
	}

	msgs := ps.Channel(redis.WithChannelSize(SubscriptionBuffer))
	out := make(chan []byte, SubscriptionBuffer)
	go c.forward(ctx, ps, msgs, out)
	return out, nil
}

// forward copies payloads from go-redis to out until ctx ends or the cache
// closes, then closes the subscription and out.
func (c *Cache) forward(ctx context.Context, ps *redis.PubSub, msgs <-chan *redis.Message, out chan<- []byte) {
	defer c.subs.Done()
	defer close(out)
	defer ps.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			if ctx.Err() != nil {
				return // never deliver what arrives after cancellation
			}
			select {
			case out <- []byte(m.Payload):
			default: // reader too slow: drop (at-most-once delivery)
			}
		}
	}
}
