package sqlstore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/store/sqlstore"
)

// TestRotateAcrossReplicas rotates one refresh token from two Stores (two
// pools, as two replicas would) on one database at once: exactly one
// rotation wins.
func TestRotateAcrossReplicas(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			replicas := []*sqlstore.Store{openMigrated(t, dsn), openMigrated(t, dsn)}
			ctx := t.Context()
			exp := time.Now().Add(time.Hour)
			parent := store.RefreshToken{Hash: "p", FamilyID: "f", SubjectKind: store.KindUser, SubjectID: "u", Mode: store.ModeLive, FamilyExpiresAt: exp}
			if err := replicas[0].CreateRefreshToken(ctx, parent); err != nil {
				t.Fatal(err)
			}
			const perReplica = 5
			var wg sync.WaitGroup
			errs := make([]error, len(replicas)*perReplica)
			start := make(chan struct{})
			for i := range errs {
				s := replicas[i%len(replicas)]
				wg.Go(func() {
					child := parent
					child.Hash = fmt.Sprintf("c%d", i)
					<-start
					errs[i] = s.RotateRefreshToken(ctx, "p", time.Time{}, child)
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnavailable):
					t.Errorf("rotation %d: %v, want ErrConflict", i, err)
				}
			}
			if won != 1 {
				t.Errorf("%d rotations won, want 1", won)
			}
		})
	}
}

// TestIdentityStoreConventions pins sqlstore's choices where the contract
// says nothing: RotateRefreshToken links the child to its parent, zero
// times mean now, UpdateContact stamps UpdatedAt, and FindContacts called
// wrongly fails with an error matching no sentinel.
func TestIdentityStoreConventions(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openMigrated(t, b.dsn(t))
			ctx := t.Context()
			start := time.Now().Add(-time.Second)
			exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			parent := store.RefreshToken{Hash: "p", FamilyID: "f", SubjectKind: store.KindUser, SubjectID: "u", Mode: store.ModeLive, FamilyExpiresAt: exp}
			if err := s.CreateRefreshToken(ctx, parent); err != nil {
				t.Fatal(err)
			}
			child := parent
			child.Hash, child.ParentHash = "c", "" // left to the store
			if err := s.RotateRefreshToken(ctx, "p", time.Time{}, child); err != nil {
				t.Fatalf("RotateRefreshToken: %v", err)
			}
			gotChild, err := s.GetRefreshToken(ctx, "c")
			if err != nil || gotChild.ParentHash != "p" || gotChild.CreatedAt.Before(start) {
				t.Errorf("child = %+v, %v; want ParentHash p and CreatedAt now", gotChild, err)
			}
			gotParent, err := s.GetRefreshToken(ctx, "p")
			if err != nil || gotParent.UsedAt == nil || gotParent.UsedAt.Before(start) {
				t.Errorf("parent = %+v, %v; want UsedAt now", gotParent, err)
			}

			if err := s.CreateOrganisation(ctx, store.Organisation{ID: "biz", Name: "Biz", Type: store.OrgTypeBusiness}); err != nil {
				t.Fatal(err)
			}
			created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := s.CreateContact(ctx, store.Contact{ID: "c1", BusinessID: "biz", Mode: store.ModeLive, CreatedAt: created}); err != nil {
				t.Fatal(err)
			}
			c, err := s.GetContact(ctx, "biz", store.ModeLive, "c1")
			if err != nil || !c.UpdatedAt.Equal(created) {
				t.Errorf("contact created with a zero UpdatedAt = %+v, %v; want UpdatedAt = CreatedAt", c, err)
			}
			if err := s.UpdateContact(ctx, "biz", store.ModeLive, "c1", func(c store.Contact) (store.Contact, error) {
				c.Title = "Mx"
				return c, nil
			}); err != nil {
				t.Fatal(err)
			}
			c, err = s.GetContact(ctx, "biz", store.ModeLive, "c1")
			if err != nil || c.UpdatedAt.Before(start) || !c.CreatedAt.Equal(created) {
				t.Errorf("contact after an update leaving UpdatedAt = %+v, %v; want UpdatedAt now", c, err)
			}

			for _, args := range [][2]string{{"a@example.com", "+1"}, {"", ""}} {
				_, err := s.FindContacts(ctx, "biz", store.ModeLive, args[0], args[1])
				if err == nil {
					t.Errorf("FindContacts(%q, %q) succeeded", args[0], args[1])
				}
				for _, sentinel := range []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict, store.ErrUnavailable} {
					if errors.Is(err, sentinel) {
						t.Errorf("FindContacts(%q, %q) = %v, matches %v", args[0], args[1], err, sentinel)
					}
				}
			}
		})
	}
}
