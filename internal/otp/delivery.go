package otp

import (
	"context"
	"fmt"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/store"
)

// Delivery is a business's own way of sending its codes in one mode
// (package integrations builds it from the business's configuration).
type Delivery struct {
	// Sender delivers the channels Carries allows; the other channels go
	// through the service-wide sender.
	Sender sender.Sender
	// Carries tells the channels Sender delivers (nil: every channel).
	Carries func(Channel) bool
	// Templates are the business's own texts; a message without one of
	// its own uses the service's.
	Templates *LocaleTemplates
	// Key names this configuration (business, mode, version): each gets
	// its own delivery-latency estimate, so that paced answers for
	// unknown destinations wait as long as this business's deliveries.
	Key string
}

// Deliveries finds a business's own delivery (package integrations).
type Deliveries interface {
	// Delivery returns the delivery of businessID in mode; ok is false
	// when the business has none (the service-wide sender and texts
	// apply). An error means it could not be told (the database is down
	// and no copy is at hand): nothing is sent.
	Delivery(ctx context.Context, businessID string, mode store.Mode) (d Delivery, ok bool, err error)
}

// UseDeliveries makes Issue send through the businesses' own deliveries
// when they have one. Call it before the service is used.
func (s *Service) UseDeliveries(d Deliveries) {
	s.deliveries = d
	s.pacers, _ = lru.New[string, *pacer](maxDeliveryPacers)
}

// maxDeliveryPacers bounds the latency estimates kept for businesses'
// own deliveries (one per business, mode, configuration and channel).
const maxDeliveryPacers = 10000

// route is how one request's code travels: the sender, the texts and the
// latency estimate its answer is paced with.
type route struct {
	sender sender.Sender
	own    *LocaleTemplates // nil: the service's texts only
	pacer  *pacer
	pace   Channel // the pacer's key
}

// route picks the business's own delivery for r when it has one that
// carries r's channel, else the service-wide sender. It depends on the
// business, mode and channel only, never on the destination, so a known
// and an unknown destination take the same route and the same time.
func (s *Service) route(ctx context.Context, r Request) (route, error) {
	rt := route{sender: s.sender, pacer: s.pacer, pace: r.Channel}
	if s.deliveries == nil {
		return rt, nil
	}
	d, ok, err := s.deliveries.Delivery(ctx, r.BusinessID, r.Mode)
	if err != nil {
		return route{}, fmt.Errorf("otp: the business's delivery: %w", err)
	}
	if !ok {
		return rt, nil
	}
	rt.own = d.Templates
	if d.Sender == nil || (d.Carries != nil && !d.Carries(r.Channel)) {
		return rt, nil
	}
	rt.sender = d.Sender
	key := d.Key + "/" + string(r.Channel)
	p, found := s.pacers.Get(key)
	if !found {
		p = newPacer(defaultSendLatency, s.pacer.max)
		p.init = s.pacer.init // tests make the service's pacer fast
		s.pacers.Add(key, p)
	}
	rt.pacer = p
	return rt, nil
}

// render renders the message: the business's most specific text for the
// request's locale, else the service's.
func (s *Service) render(rt route, r Request, code string) (subject, body string, err error) {
	if rt.own != nil {
		if tpl := rt.own.pick(string(r.Channel)+"."+string(r.Purpose), r.Locale); tpl != nil {
			return execute(tpl, r.Channel, r.Purpose, code, s.texts.minutes)
		}
	}
	return s.texts.render(r.Channel, r.Purpose, code)
}

// TemplateKeys lists the keys a template may have: "<channel>.<purpose>"
// for every channel and purpose with a built-in text.
func TemplateKeys() []string {
	keys := make([]string, 0, len(builtinTemplates))
	for k := range builtinTemplates {
		keys = append(keys, k)
	}
	return keys
}

// IsTemplateKey reports whether key is one of TemplateKeys.
func IsTemplateKey(key string) bool {
	_, ok := builtinTemplates[key]
	return ok && strings.Contains(key, ".")
}
