package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migrationsTable records the ids of the migrations applied.
const migrationsTable = "schema_migrations"

// migrations lists every schema change in order. Never edit or reorder a
// migration that has shipped: append a new one. Each defines its own
// frozen row types, so later changes to models.go cannot change what an
// old migration does.
func migrations() []*gormigrate.Migration {
	return []*gormigrate.Migration{
		{ID: "0001_initial", Migrate: migrate0001},
		{ID: "0002_identity", Migrate: migrate0002},
		{ID: "0003_sqlite_rotate_trigger", Migrate: migrate0003},
		{ID: "0004_api_key_minute_limit", Migrate: migrate0004},
		{ID: "0005_revocations", Migrate: migrate0005},
		{ID: "0006_introspection_reads_revocations", Migrate: migrate0006},
		{ID: "0007_refresh_audience", Migrate: migrate0007},
		{ID: "0008_organisation_depth", Migrate: migrate0008},
		{ID: "0009_client_secret_rotation", Migrate: migrate0009},
		{ID: "0010_contact_profile", Migrate: migrate0010},
		{ID: "0011_otp_integrations", Migrate: migrate0011},
		{ID: "0012_client_lifetimes", Migrate: migrate0012},
		{ID: "0013_refresh_sessions", Migrate: migrate0013},
	}
}

// Migrate applies the pending migrations. It is idempotent and cheap when
// nothing is pending (one query), so every replica may call it at start-up.
// On PostgreSQL the work runs under a session advisory lock held on one
// pinned connection, so replicas starting together migrate one after the
// other; on SQLite the single writer serialises them. Migrations run in
// one transaction: a failure leaves the schema as it was.
func (s *Store) Migrate(ctx context.Context) error {
	if s.inTx {
		return errors.New("sqlstore: Migrate called inside a transaction")
	}
	if pending, err := s.pendingIDs(ctx); err == nil && len(pending) == 0 {
		return nil
	}
	if s.dialect != dialectPostgres {
		return mapErr("migrate", runMigrations(s.conn(ctx)))
	}
	err := s.conn(ctx).Connection(func(conn *gorm.DB) (err error) {
		if err := conn.Exec("SELECT pg_advisory_lock(?)", migrateLockKey).Error; err != nil {
			return err
		}
		defer func() {
			// Unlock even if ctx is done: a pooled connection must not keep
			// the lock. Should this fail, the connection is broken and the
			// server releases the lock when it goes.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if uerr := conn.WithContext(uctx).Exec("SELECT pg_advisory_unlock(?)", migrateLockKey).Error; uerr != nil && err == nil {
				err = uerr
			}
		}()
		return runMigrations(conn)
	})
	return mapErr("migrate", err)
}

func runMigrations(db *gorm.DB) error {
	if err := newMigrator(db).Migrate(); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

func newMigrator(db *gorm.DB) *gormigrate.Gormigrate {
	opts := &gormigrate.Options{
		TableName:      migrationsTable,
		IDColumnName:   "id",
		IDColumnSize:   255,
		UseTransaction: true,
		// An older binary rolled back beside a newer schema keeps working.
		ValidateUnknownMigrations: false,
	}
	return gormigrate.New(db, opts, migrations())
}

// PendingMigrations returns how many migrations Migrate would apply.
func (s *Store) PendingMigrations(ctx context.Context) (int, error) {
	has := s.conn(ctx).Migrator().HasTable(migrationsTable)
	if !has {
		// HasTable hides errors: check the database answers at all.
		if err := s.Ping(ctx); err != nil {
			return 0, err
		}
		return len(migrations()), nil
	}
	pending, err := s.pendingIDs(ctx)
	if err != nil {
		return 0, mapErr("pending migrations", err)
	}
	return len(pending), nil
}

// pendingIDs returns the ids of the migrations not yet applied. It fails
// when the migrations table does not exist yet.
func (s *Store) pendingIDs(ctx context.Context) ([]string, error) {
	var applied []string
	if err := s.conn(ctx).Table(migrationsTable).Pluck("id", &applied).Error; err != nil {
		return nil, err
	}
	done := make(map[string]bool, len(applied))
	for _, id := range applied {
		done[id] = true
	}
	var pending []string
	for _, m := range migrations() {
		if !done[m.ID] {
			pending = append(pending, m.ID)
		}
	}
	return pending, nil
}

// 0001_initial: every table of store.Store.

type m0001Organisation struct {
	ID        string             `gorm:"column:id;primaryKey;not null;index:idx_organisations_parent,priority:3"`
	Name      string             `gorm:"column:name;not null"`
	Type      string             `gorm:"column:type;not null"`
	ParentID  *string            `gorm:"column:parent_id;index:idx_organisations_parent,priority:1"`
	CreatedAt time.Time          `gorm:"column:created_at;not null;index:idx_organisations_parent,priority:2"`
	Parent    *m0001Organisation `gorm:"foreignKey:ParentID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
}

func (m0001Organisation) TableName() string { return "organisations" }

type m0001User struct {
	ID           string    `gorm:"column:id;primaryKey;not null"`
	Email        string    `gorm:"column:email;not null;uniqueIndex:idx_users_email"` // lower-cased by the store
	PasswordHash string    `gorm:"column:password_hash;not null"`
	FirstName    string    `gorm:"column:first_name;not null"`
	LastName     string    `gorm:"column:last_name;not null"`
	Disabled     bool      `gorm:"column:disabled;not null"`
	CreatedAt    time.Time `gorm:"column:created_at;not null"`
	UpdatedAt    time.Time `gorm:"column:updated_at;not null"`
}

func (m0001User) TableName() string { return "users" }

type m0001Membership struct {
	UserID         string             `gorm:"column:user_id;primaryKey;not null"`
	OrganisationID string             `gorm:"column:organisation_id;primaryKey;not null;index:idx_memberships_organisation"`
	Role           string             `gorm:"column:role;not null"`
	IsDefault      bool               `gorm:"column:is_default;not null"`
	CreatedAt      time.Time          `gorm:"column:created_at;not null"`
	User           *m0001User         `gorm:"foreignKey:UserID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
	Organisation   *m0001Organisation `gorm:"foreignKey:OrganisationID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
}

func (m0001Membership) TableName() string { return "memberships" }

type m0001Client struct {
	ID             string             `gorm:"column:id;primaryKey;not null"`
	Name           string             `gorm:"column:name;not null"`
	SecretHash     string             `gorm:"column:secret_hash;not null"`
	Public         bool               `gorm:"column:public;not null"`
	GrantTypes     string             `gorm:"column:grant_types;not null"` // JSON array
	Scopes         string             `gorm:"column:scopes;not null"`      // JSON array
	Audience       string             `gorm:"column:audience;not null"`    // JSON array
	OrganisationID *string            `gorm:"column:organisation_id"`
	Mode           string             `gorm:"column:mode;not null"`
	CreatedAt      time.Time          `gorm:"column:created_at;not null"`
	Organisation   *m0001Organisation `gorm:"foreignKey:OrganisationID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
}

func (m0001Client) TableName() string { return "clients" }

type m0001APIKey struct {
	ID             string             `gorm:"column:id;primaryKey;not null;index:idx_api_keys_organisation_mode,priority:4"`
	OrganisationID string             `gorm:"column:organisation_id;not null;index:idx_api_keys_organisation_mode,priority:1"`
	Mode           string             `gorm:"column:mode;not null;index:idx_api_keys_organisation_mode,priority:2"`
	Type           string             `gorm:"column:type;not null"`
	Name           string             `gorm:"column:name;not null"`
	Prefix         string             `gorm:"column:prefix;not null"`
	Last4          string             `gorm:"column:last4;not null"`
	Hash           string             `gorm:"column:hash;not null;uniqueIndex:idx_api_keys_hash"`
	Sealed         []byte             `gorm:"column:sealed"`
	Scopes         string             `gorm:"column:scopes;not null"` // JSON array
	RateLimit      int                `gorm:"column:rate_limit;not null"`
	RolledFrom     string             `gorm:"column:rolled_from;not null"`
	CreatedBy      string             `gorm:"column:created_by;not null"`
	CreatedAt      time.Time          `gorm:"column:created_at;not null;index:idx_api_keys_organisation_mode,priority:3"`
	ExpiresAt      *time.Time         `gorm:"column:expires_at"`
	RevokedAt      *time.Time         `gorm:"column:revoked_at"`
	LastUsedAt     *time.Time         `gorm:"column:last_used_at"`
	Organisation   *m0001Organisation `gorm:"foreignKey:OrganisationID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
}

func (m0001APIKey) TableName() string { return "api_keys" }

type m0001SigningKey struct {
	KID       string    `gorm:"column:kid;primaryKey;not null"`
	Algorithm string    `gorm:"column:algorithm;not null"`
	Private   []byte    `gorm:"column:private"`
	PublicJWK []byte    `gorm:"column:public_jwk"`
	CreatedAt time.Time `gorm:"column:created_at;not null"`
	SignsFrom time.Time `gorm:"column:signs_from;not null"`
}

func (m0001SigningKey) TableName() string { return "signing_keys" }

func migrate0001(tx *gorm.DB) error {
	// Referenced tables first.
	return tx.Migrator().CreateTable(
		&m0001Organisation{},
		&m0001User{},
		&m0001Membership{},
		&m0001Client{},
		&m0001APIKey{},
		&m0001SigningKey{},
	)
}

// 0002_identity: the tables of store.IdentityStore (refresh tokens, audit
// events, contacts, identities, contact organisations).

type m0002RefreshToken struct {
	Hash            string     `gorm:"column:hash;primaryKey;not null"`
	FamilyID        string     `gorm:"column:family_id;not null;index:idx_refresh_tokens_family"`
	ParentHash      string     `gorm:"column:parent_hash;not null"`
	ChildHash       string     `gorm:"column:child_hash;not null"`
	SubjectKind     string     `gorm:"column:subject_kind;not null;index:idx_refresh_tokens_subject,priority:1"`
	SubjectID       string     `gorm:"column:subject_id;not null;index:idx_refresh_tokens_subject,priority:2"`
	ClientID        string     `gorm:"column:client_id;not null"`
	OrganisationID  string     `gorm:"column:organisation_id;not null"`
	HomeOrg         string     `gorm:"column:home_org;not null"`
	Mode            string     `gorm:"column:mode;not null"`
	Scopes          string     `gorm:"column:scopes;not null"` // JSON array
	CreatedAt       time.Time  `gorm:"column:created_at;not null"`
	FamilyExpiresAt time.Time  `gorm:"column:family_expires_at;not null;index:idx_refresh_tokens_family_expires"`
	UsedAt          *time.Time `gorm:"column:used_at"`
	RevokedAt       *time.Time `gorm:"column:revoked_at"`
}

func (m0002RefreshToken) TableName() string { return "refresh_tokens" }

type m0002AuditEvent struct {
	ID             string    `gorm:"column:id;primaryKey;not null"`
	At             time.Time `gorm:"column:at;not null;index:idx_audit_events_organisation_at,priority:2,sort:desc;index:idx_audit_events_at"`
	Action         string    `gorm:"column:action;not null"`
	Success        bool      `gorm:"column:success;not null"`
	ActorKind      string    `gorm:"column:actor_kind;not null"`
	ActorID        string    `gorm:"column:actor_id;not null"`
	OrganisationID string    `gorm:"column:organisation_id;not null;index:idx_audit_events_organisation_at,priority:1"`
	TargetKind     string    `gorm:"column:target_kind;not null"`
	TargetID       string    `gorm:"column:target_id;not null"`
	IP             string    `gorm:"column:ip;not null"`
	UserAgent      string    `gorm:"column:user_agent;not null"`
	RequestID      string    `gorm:"column:request_id;not null"`
	Details        string    `gorm:"column:details;not null"` // JSON object
}

func (m0002AuditEvent) TableName() string { return "audit_events" }

type m0002Contact struct {
	BusinessID        string             `gorm:"column:business_id;primaryKey;not null;index:idx_contacts_email,priority:1;index:idx_contacts_phone,priority:1"`
	Mode              string             `gorm:"column:mode;primaryKey;not null;index:idx_contacts_email,priority:2;index:idx_contacts_phone,priority:2"`
	ID                string             `gorm:"column:id;primaryKey;not null"`
	Code              string             `gorm:"column:code;not null"` // unique when non-empty: idx_contacts_code below
	FirstName         string             `gorm:"column:first_name;not null"`
	LastName          string             `gorm:"column:last_name;not null"`
	Title             string             `gorm:"column:title;not null"`
	Email             string             `gorm:"column:email;not null;index:idx_contacts_email,priority:3"` // lower-cased by the store
	PhoneNumber       string             `gorm:"column:phone_number;not null;index:idx_contacts_phone,priority:3"`
	AvatarURL         string             `gorm:"column:avatar_url;not null"`
	EmailOptOut       bool               `gorm:"column:email_opt_out;not null"`
	SMSOptOut         bool               `gorm:"column:sms_opt_out;not null"`
	ServiceAcceptance bool               `gorm:"column:service_acceptance;not null"`
	CreatedAt         time.Time          `gorm:"column:created_at;not null"`
	UpdatedAt         time.Time          `gorm:"column:updated_at;not null"`
	Business          *m0001Organisation `gorm:"foreignKey:BusinessID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
}

func (m0002Contact) TableName() string { return "contacts" }

type m0002Identity struct {
	BusinessID   string        `gorm:"column:business_id;primaryKey;not null;index:idx_identities_contact,priority:1"`
	Mode         string        `gorm:"column:mode;primaryKey;not null;index:idx_identities_contact,priority:2"`
	Provider     string        `gorm:"column:provider;primaryKey;not null"`
	Subject      string        `gorm:"column:subject;primaryKey;not null"` // lower-cased for EMAIL by the store
	ContactID    string        `gorm:"column:contact_id;not null;index:idx_identities_contact,priority:3"`
	PasswordHash string        `gorm:"column:password_hash;not null"`
	CreatedAt    time.Time     `gorm:"column:created_at;not null"`
	Contact      *m0002Contact `gorm:"foreignKey:BusinessID,Mode,ContactID;references:BusinessID,Mode,ID;constraint:OnUpdate:RESTRICT,OnDelete:CASCADE"`
}

func (m0002Identity) TableName() string { return "identities" }

type m0002ContactOrganisation struct {
	BusinessID     string             `gorm:"column:business_id;primaryKey;not null"`
	Mode           string             `gorm:"column:mode;primaryKey;not null"`
	ContactID      string             `gorm:"column:contact_id;primaryKey;not null"`
	OrganisationID string             `gorm:"column:organisation_id;primaryKey;not null;index:idx_contact_organisations_organisation"`
	Relationship   string             `gorm:"column:relationship;not null"`
	CreatedAt      time.Time          `gorm:"column:created_at;not null"`
	Contact        *m0002Contact      `gorm:"foreignKey:BusinessID,Mode,ContactID;references:BusinessID,Mode,ID;constraint:OnUpdate:RESTRICT,OnDelete:CASCADE"`
	Organisation   *m0001Organisation `gorm:"foreignKey:OrganisationID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
}

func (m0002ContactOrganisation) TableName() string { return "contact_organisations" }

func migrate0002(tx *gorm.DB) error {
	// Referenced tables first.
	if err := tx.Migrator().CreateTable(
		&m0002RefreshToken{},
		&m0002AuditEvent{},
		&m0002Contact{},
		&m0002Identity{},
		&m0002ContactOrganisation{},
	); err != nil {
		return err
	}
	// A partial unique index: contacts without a code do not collide.
	// The same statement works on SQLite and PostgreSQL.
	return tx.Exec("CREATE UNIQUE INDEX idx_contacts_code ON contacts (business_id, mode, code) WHERE code <> ''").Error
}

// migrate0003 lets SQLite rotate a refresh token in one statement: an
// INSERT of the child marked claim_parent = 1 fires a trigger that refuses
// it unless the parent is unused and unrevoked, and marks the parent used.
// The pure-Go SQLite driver parses every statement on every execution, so
// one statement instead of BEGIN, UPDATE, INSERT and COMMIT is most of a
// refresh's cost. PostgreSQL gets the columns only (it rotates with a
// data-modifying CTE).
func migrate0003(tx *gorm.DB) error {
	for _, q := range []string{
		`ALTER TABLE refresh_tokens ADD COLUMN claim_parent INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE refresh_tokens ADD COLUMN parent_used_at TIMESTAMP NULL`,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	if tx.Name() != "sqlite" {
		return nil
	}
	return tx.Exec(`CREATE TRIGGER refresh_tokens_claim_parent BEFORE INSERT ON refresh_tokens
		WHEN NEW.claim_parent = 1
		BEGIN
			SELECT RAISE(ABORT, 'authd_refresh_parent_not_claimable')
			WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens
				WHERE hash = NEW.parent_hash AND used_at IS NULL AND revoked_at IS NULL);
			UPDATE refresh_tokens SET used_at = NEW.parent_used_at, child_hash = NEW.hash
			WHERE hash = NEW.parent_hash;
		END`).Error
}

// migrate0004 adds a per-minute limit to API keys, beside the per-second
// one.
func migrate0004(tx *gorm.DB) error {
	return tx.Exec(`ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute INTEGER NOT NULL DEFAULT 0`).Error
}

// migrate0005 adds the revocation log. Sequence numbers are never reused,
// even after the newest entries are deleted (SQLite's AUTOINCREMENT,
// PostgreSQL's identity column): a reader's cursor stays valid.
func migrate0005(tx *gorm.DB) error {
	create := `CREATE TABLE revocations (
		seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		kind VARCHAR(16) NOT NULL,
		subject VARCHAR(255) NOT NULL,
		at TIMESTAMPTZ NOT NULL,
		expires_at TIMESTAMPTZ NOT NULL)`
	if tx.Name() == "sqlite" {
		create = `CREATE TABLE revocations (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			kind TEXT NOT NULL,
			subject TEXT NOT NULL,
			at DATETIME NOT NULL,
			expires_at DATETIME NOT NULL)`
	}
	if err := tx.Exec(create).Error; err != nil {
		return err
	}
	return tx.Exec(`CREATE INDEX idx_revocations_expires_at ON revocations (expires_at)`).Error
}

// migrate0006 lets bootstrap's introspection client read the revocation
// feed (revocations:read), as bootstrap now creates it: a deployment made
// before keeps working without re-bootstrapping.
func migrate0006(tx *gorm.DB) error {
	var rows []struct {
		ID     string `gorm:"column:id"`
		Scopes string `gorm:"column:scopes"`
	}
	if err := tx.Raw(`SELECT id, scopes FROM clients WHERE id = ?`, "introspection").Scan(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		var scopes []string
		if err := json.Unmarshal([]byte(r.Scopes), &scopes); err != nil {
			return err
		}
		if slices.Contains(scopes, "revocations:read") {
			continue
		}
		b, err := json.Marshal(append(scopes, "revocations:read"))
		if err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE clients SET scopes = ? WHERE id = ?`, string(b), r.ID).Error; err != nil {
			return err
		}
	}
	return nil
}

// migrate0007 records the audience of a refresh family's access tokens
// (empty: the configured default, as for every family before it).
func migrate0007(tx *gorm.DB) error {
	return tx.Exec(`ALTER TABLE refresh_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '[]'`).Error
}

// migrate0008 stores each organisation's depth in the network (0 for the
// root), so the organisations a user may act for page in the database in
// one stable order, and a service owner's whole network pages through an
// index.
func migrate0008(tx *gorm.DB) error {
	if err := tx.Exec(`ALTER TABLE organisations ADD COLUMN depth INTEGER NOT NULL DEFAULT 0`).Error; err != nil {
		return err
	}
	fill := `WITH RECURSIVE t(id, d) AS (
			SELECT id, 0 FROM organisations WHERE parent_id IS NULL
			UNION ALL
			SELECT o.id, t.d + 1 FROM organisations o JOIN t ON o.parent_id = t.id)
		UPDATE organisations SET depth = (SELECT d FROM t WHERE t.id = organisations.id)`
	if tx.Name() != "sqlite" {
		fill = `WITH RECURSIVE t(id, d) AS (
			SELECT id, 0 FROM organisations WHERE parent_id IS NULL
			UNION ALL
			SELECT o.id, t.d + 1 FROM organisations o JOIN t ON o.parent_id = t.id)
		UPDATE organisations SET depth = t.d FROM t WHERE organisations.id = t.id`
	}
	if err := tx.Exec(fill).Error; err != nil {
		return err
	}
	return tx.Exec(`CREATE INDEX idx_organisations_depth_name ON organisations (depth, name, id)`).Error
}

// migrate0009 lets a client's secret be rotated with an overlap: the
// secret it replaced (its hex SHA-256) and when that one stops working.
func migrate0009(tx *gorm.DB) error {
	expires := `ALTER TABLE clients ADD COLUMN previous_secret_expires_at TIMESTAMPTZ NULL`
	if tx.Name() == "sqlite" {
		expires = `ALTER TABLE clients ADD COLUMN previous_secret_expires_at DATETIME NULL`
	}
	for _, q := range []string{
		`ALTER TABLE clients ADD COLUMN previous_secret_hash TEXT NOT NULL DEFAULT ''`,
		expires,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}

// migrate0010 gives contacts a type (person or company) and a locale, and
// indexes the paginated listing of a business's contacts: in creation
// order, whole or by email or phone on record (which the look-ups by
// email and phone use too).
func migrate0010(tx *gorm.DB) error {
	for _, q := range []string{
		`ALTER TABLE contacts ADD COLUMN type TEXT NOT NULL DEFAULT 'person'`,
		`ALTER TABLE contacts ADD COLUMN locale TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX idx_contacts_created ON contacts (business_id, mode, created_at, id)`,
		`DROP INDEX idx_contacts_email`,
		`CREATE INDEX idx_contacts_email ON contacts (business_id, mode, email, created_at, id)`,
		`DROP INDEX idx_contacts_phone`,
		`CREATE INDEX idx_contacts_phone ON contacts (business_id, mode, phone_number, created_at, id)`,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}

// migrate0011 adds the businesses' own OTP delivery, one row per
// organisation and mode: the sender, its settings and templates (JSON,
// no secrets) and its secrets sealed with the system secret.
func migrate0011(tx *gorm.DB) error {
	create := `CREATE TABLE otp_integrations (
		organisation_id TEXT NOT NULL REFERENCES organisations (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
		mode TEXT NOT NULL,
		sender TEXT NOT NULL,
		settings TEXT NOT NULL,
		sealed BYTEA,
		version BIGINT NOT NULL,
		updated_by TEXT NOT NULL,
		created_at TIMESTAMPTZ NOT NULL,
		updated_at TIMESTAMPTZ NOT NULL,
		PRIMARY KEY (organisation_id, mode))`
	if tx.Name() == "sqlite" {
		create = `CREATE TABLE otp_integrations (
			organisation_id TEXT NOT NULL REFERENCES organisations (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
			mode TEXT NOT NULL,
			sender TEXT NOT NULL,
			settings TEXT NOT NULL,
			sealed BLOB,
			version INTEGER NOT NULL,
			updated_by TEXT NOT NULL,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL,
			PRIMARY KEY (organisation_id, mode))`
	}
	return tx.Exec(create).Error
}

// migrate0012 gives each client its own token lifetimes, in seconds (0:
// the service's default, as for every client before).
func migrate0012(tx *gorm.DB) error {
	for _, q := range []string{
		`ALTER TABLE clients ADD COLUMN access_token_ttl BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE clients ADD COLUMN refresh_token_ttl BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE clients ADD COLUMN refresh_idle_ttl BIGINT NOT NULL DEFAULT 0`,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}

// migrate0013 records, on each refresh token, when its family began and
// the address and user agent of the request that obtained it: a user's
// list of sessions. Tokens stored before have none (NULL, empty).
func migrate0013(tx *gorm.DB) error {
	typ := "TIMESTAMPTZ"
	if tx.Name() == "sqlite" {
		typ = "DATETIME"
	}
	for _, q := range []string{
		`ALTER TABLE refresh_tokens ADD COLUMN family_created_at ` + typ + ` NULL`,
		`ALTER TABLE refresh_tokens ADD COLUMN ip VARCHAR(64) NOT NULL DEFAULT ''`,
		`ALTER TABLE refresh_tokens ADD COLUMN user_agent TEXT NOT NULL DEFAULT ''`,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}
