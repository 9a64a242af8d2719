package memcache

import (
	"context"
)

// SubscriptionBuffer is how many undelivered messages a subscription holds.
// Publish drops a message for a subscriber whose buffer is full rather
// than wait for it.
const SubscriptionBuffer = 256

type subscriber struct {
	ctx  context.Context
	ch   chan []byte
	stop func() bool // stops the context.AfterFunc that unsubscribes
}

// Publish implements cache.Cache. Each subscriber gets its own copy of msg.
func (c *Cache) Publish(ctx context.Context, channel string, msg []byte) error {
	if _, err := c.begin(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	for s := range c.subs[channel] {
		if s.ctx.Err() != nil {
			continue // cancelled, not yet unsubscribed: deliver nothing more
		}
		select {
		case s.ch <- clone(msg):
		default: // subscriber too slow: drop (at-most-once delivery)
		}
	}
	return nil
}

// Subscribe implements cache.Cache.
func (c *Cache) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	if _, err := c.begin(ctx); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	s := &subscriber{ctx: ctx, ch: make(chan []byte, SubscriptionBuffer)}
	set := c.subs[channel]
	if set == nil {
		set = make(map[*subscriber]struct{})
		c.subs[channel] = set
	}
	set[s] = struct{}{}
	s.stop = context.AfterFunc(ctx, func() { c.unsubscribe(channel, s) })
	return s.ch, nil
}

// unsubscribe removes s and closes its channel, unless Close already did.
func (c *Cache) unsubscribe(channel string, s *subscriber) {
	c.mu.Lock()
	defer c.mu.Unlock()
	set := c.subs[channel]
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	if len(set) == 0 {
		delete(c.subs, channel)
	}
	close(s.ch)
}

// closeSubscribersLocked closes every subscription. c.mu must be held.
func (c *Cache) closeSubscribersLocked() {
	for channel, set := range c.subs {
		for s := range set {
			s.stop()
			close(s.ch)
		}
		delete(c.subs, channel)
	}
}
