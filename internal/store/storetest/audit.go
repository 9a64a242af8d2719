package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
)

var auditTests = []subtest{
	{"CreateListRoundTrip", testAuditRoundTrip},
	{"DuplicateID", func(t *testing.T, s store.Store) {
		orig := mkEvent("e1", "biz", "user.signin", "u1", at(time.Minute))
		must(t, s.CreateAuditEvent(ctx(t), orig), "CreateAuditEvent")
		dup := mkEvent("e1", "other", "user.signout", "u2", at(time.Hour))
		wantOnly(t, s.CreateAuditEvent(ctx(t), dup), store.ErrAlreadyExists, "CreateAuditEvent(same id)")
		got, err := s.ListAuditEvents(ctx(t), store.AuditFilter{}, store.Page{})
		must(t, err, "ListAuditEvents")
		checkEqual(t, "events after a refused duplicate", got, []store.AuditEvent{orig})
	}},
	{"ZeroTimeIsNow", func(t *testing.T, s store.Store) {
		before := time.Now().Add(-time.Second)
		must(t, s.CreateAuditEvent(ctx(t), mkEvent("e1", "biz", "user.signin", "u1", time.Time{})), "CreateAuditEvent")
		after := time.Now().Add(time.Second)
		got, err := s.ListAuditEvents(ctx(t), store.AuditFilter{}, store.Page{})
		must(t, err, "ListAuditEvents")
		if len(got) != 1 || got[0].At.Before(before) || got[0].At.After(after) {
			t.Errorf("event created with a zero At = %+v, want At between %v and %v", got, before, after)
		}
		checkUTC(t, "event", got)
	}},
	{"ListOrderFilterPages", testListAuditEvents},
}

func mkEvent(id, org, action, actor string, when time.Time) store.AuditEvent {
	return store.AuditEvent{
		ID: id, At: when, Action: action, Success: true, ActorKind: store.KindUser, ActorID: actor,
		OrganisationID: org, IP: "192.0.2.1", UserAgent: "test-agent", RequestID: "req-" + id,
	}
}

func testAuditRoundTrip(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC+1", 3600)
	full := store.AuditEvent{
		ID: "e-full", At: at(time.Hour).In(zone), Action: "refresh.reuse_detected", Success: true,
		ActorKind: store.KindContact, ActorID: "c1", OrganisationID: "merchant",
		TargetKind: "refresh_family", TargetID: "fam-1", IP: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11; Ünïcode)",
		RequestID: "req-123", Details: map[string]string{"client_id": "mobile", "reason": "réutilisé", "empty": ""},
	}
	minimal := store.AuditEvent{ID: "e-min", At: at(time.Minute), Action: "user.signin_failed", ActorKind: store.KindSystem}
	for _, e := range []store.AuditEvent{full, minimal} {
		must(t, s.CreateAuditEvent(ctx(t), e), "CreateAuditEvent "+e.ID)
	}
	got, err := s.ListAuditEvents(ctx(t), store.AuditFilter{}, store.Page{})
	must(t, err, "ListAuditEvents")
	checkEqual(t, "audit events", got, []store.AuditEvent{full, minimal})
	checkUTC(t, "audit events", got)
	if len(got) == 2 && got[1].Details != nil {
		t.Errorf("event without details came back with %#v, want nil", got[1].Details)
	}
}

func testListAuditEvents(t *testing.T, s store.Store) {
	// Created out of order; e-b and e-c share a time and sort by id, newest
	// (greatest) first.
	for _, e := range []store.AuditEvent{
		mkEvent("e-c", "biz", "user.signin", "u1", at(2*time.Hour)),
		mkEvent("e-a", "biz", "user.signin", "u2", at(time.Hour)),
		mkEvent("e-d", "merchant", "user.signin_failed", "u1", at(3*time.Hour)),
		mkEvent("e-b", "merchant", "user.signin", "u1", at(2*time.Hour)),
		mkEvent("e-e", "other", "refresh.reuse_detected", "", at(4*time.Hour)),
		mkEvent("e-f", "", "user.signin_failed", "", at(5*time.Hour)),
		mkEvent("e-g", "biz", "user.signin", "u1", at(2*time.Hour+time.Microsecond)),
	} {
		must(t, s.CreateAuditEvent(ctx(t), e), "CreateAuditEvent "+e.ID)
	}
	all := []string{"e-f", "e-e", "e-d", "e-g", "e-c", "e-b", "e-a"}
	eventID := func(e store.AuditEvent) string { return e.ID }
	tests := []struct {
		name   string
		filter store.AuditFilter
		page   store.Page
		want   []string
	}{
		{"no filter, newest first", store.AuditFilter{}, store.Page{}, all},
		{"empty organisation list", store.AuditFilter{OrganisationIDs: []string{}}, store.Page{}, all},
		{"one organisation", store.AuditFilter{OrganisationIDs: []string{"biz"}}, store.Page{}, []string{"e-g", "e-c", "e-a"}},
		{"two organisations", store.AuditFilter{OrganisationIDs: []string{"merchant", "other"}}, store.Page{}, []string{"e-e", "e-d", "e-b"}},
		{"unknown organisation", store.AuditFilter{OrganisationIDs: []string{"nope"}}, store.Page{}, []string{}},
		{"action", store.AuditFilter{Action: "user.signin_failed"}, store.Page{}, []string{"e-f", "e-d"}},
		{"actor", store.AuditFilter{ActorID: "u1"}, store.Page{}, []string{"e-d", "e-g", "e-c", "e-b"}},
		{"all three", store.AuditFilter{OrganisationIDs: []string{"biz", "merchant"}, Action: "user.signin", ActorID: "u1"}, store.Page{}, []string{"e-g", "e-c", "e-b"}},
		{"no match", store.AuditFilter{Action: "user.signin", ActorID: "u3"}, store.Page{}, []string{}},
		{"first page", store.AuditFilter{}, store.Page{Size: 3}, all[:3]},
		{"second page", store.AuditFilter{}, store.Page{Offset: 3, Size: 3}, all[3:6]},
		{"last page", store.AuditFilter{}, store.Page{Offset: 6, Size: 3}, all[6:]},
		{"past the end", store.AuditFilter{}, store.Page{Offset: 7, Size: 3}, []string{}},
		{"filtered page", store.AuditFilter{ActorID: "u1"}, store.Page{Offset: 1, Size: 2}, []string{"e-g", "e-c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAuditEvents(ctx(t), tc.filter, tc.page)
			must(t, err, "ListAuditEvents")
			checkIDs(t, fmt.Sprintf("ListAuditEvents(%+v, %+v)", tc.filter, tc.page), ids(got, eventID), tc.want)
		})
	}
}
