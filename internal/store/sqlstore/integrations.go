package sqlstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/authd/authd/internal/store"
)

// otpIntegrationRow is a row of otp_integrations (migration 0011).
type otpIntegrationRow struct {
	OrganisationID string    `gorm:"column:organisation_id;primaryKey"`
	Mode           string    `gorm:"column:mode;primaryKey"`
	Sender         string    `gorm:"column:sender"`
	Settings       string    `gorm:"column:settings"` // JSON object
	Sealed         []byte    `gorm:"column:sealed"`
	Version        int64     `gorm:"column:version"`
	UpdatedBy      string    `gorm:"column:updated_by"`
	CreatedAt      time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt      time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (otpIntegrationRow) TableName() string { return "otp_integrations" }

func otpIntegrationToRow(i store.OTPIntegration) otpIntegrationRow {
	settings := string(i.Settings)
	if settings == "" {
		settings = "{}"
	}
	return otpIntegrationRow{
		OrganisationID: i.OrganisationID, Mode: string(i.Mode), Sender: i.Sender, Settings: settings,
		Sealed: nullBytes(i.Sealed), Version: i.Version, UpdatedBy: i.UpdatedBy,
		CreatedAt: orNow(i.CreatedAt), UpdatedAt: orNow(i.UpdatedAt),
	}
}

func (r otpIntegrationRow) toStore() store.OTPIntegration {
	return store.OTPIntegration{
		OrganisationID: r.OrganisationID, Mode: store.Mode(r.Mode), Sender: r.Sender, Settings: []byte(r.Settings),
		Sealed: nullBytes(r.Sealed), Version: r.Version, UpdatedBy: r.UpdatedBy,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// GetOTPIntegration implements store.IntegrationStore.
func (s *Store) GetOTPIntegration(ctx context.Context, organisationID string, mode store.Mode) (store.OTPIntegration, error) {
	var row otpIntegrationRow
	if err := s.conn(ctx).Where("organisation_id = ? AND mode = ?", organisationID, string(mode)).Take(&row).Error; err != nil {
		return store.OTPIntegration{}, mapErr("get otp integration", err)
	}
	return row.toStore(), nil
}

// PutOTPIntegration implements store.IntegrationStore. Two first writes
// racing: the one that loses the insert runs fn again over the winner's
// row, as if it had come second.
func (s *Store) PutOTPIntegration(ctx context.Context, organisationID string, mode store.Mode,
	fn func(old store.OTPIntegration, found bool) (store.OTPIntegration, error)) (store.OTPIntegration, error) {
	out, err := s.putOTPIntegration(ctx, organisationID, mode, fn)
	if errors.Is(err, store.ErrAlreadyExists) && !s.inTx {
		out, err = s.putOTPIntegration(ctx, organisationID, mode, fn)
	}
	return out, err
}

func (s *Store) putOTPIntegration(ctx context.Context, organisationID string, mode store.Mode,
	fn func(old store.OTPIntegration, found bool) (store.OTPIntegration, error)) (store.OTPIntegration, error) {
	const op = "put otp integration"
	var out store.OTPIntegration
	err := s.tx(ctx, true, func(tx *Store) error {
		var row otpIntegrationRow
		err := tx.forUpdate(tx.conn(ctx)).Where("organisation_id = ? AND mode = ?", organisationID, string(mode)).Take(&row).Error
		found := err == nil
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return mapErr(op, err)
		}
		var old store.OTPIntegration
		if found {
			old = row.toStore()
		}
		next, err := fn(old, found)
		if err != nil {
			return err
		}
		next.OrganisationID, next.Mode = organisationID, mode
		next.Version = old.Version + 1
		next.CreatedAt = old.CreatedAt
		nrow := otpIntegrationToRow(next)
		err = tx.write(ctx, func(db *gorm.DB) error {
			if found {
				return db.Model(&nrow).Select("*").Updates(&nrow).Error
			}
			return db.Create(&nrow).Error
		})
		if err != nil {
			return mapErr(op, err)
		}
		out = nrow.toStore()
		return nil
	})
	return out, err
}

// DeleteOTPIntegration implements store.IntegrationStore.
func (s *Store) DeleteOTPIntegration(ctx context.Context, organisationID string, mode store.Mode) error {
	return mapErr("delete otp integration", s.write(ctx, func(db *gorm.DB) error {
		res := db.Where("organisation_id = ? AND mode = ?", organisationID, string(mode)).Delete(&otpIntegrationRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	}))
}
