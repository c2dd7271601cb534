package civiq

import (
	"context"
	"time"
)

// Device kinds.
const (
	DeviceKiosk   = "kiosk"   // takes tickets, bound to a hall
	DeviceDisplay = "display" // the hall's big screen, bound to a hall
	DeviceRater   = "rater"   // the rating device at a counter
	DeviceCounter = "counter" // the caller at a counter
)

// ValidDeviceKind reports whether k is a known device kind.
func ValidDeviceKind(k string) bool {
	switch k {
	case DeviceKiosk, DeviceDisplay, DeviceRater, DeviceCounter:
		return true
	}
	return false
}

// Device is a screen or box in a hall. An admin creates it with a one-time
// pairing code; pairing gives the device its own token, kept by the device.
type Device struct {
	ID        int64  `json:"id"`
	Kind      string `json:"kind"`
	HallID    string `json:"hall_id"`
	CounterID string `json:"counter_id,omitempty"` // rater and counter devices
	Name      string `json:"name"`
	// PairingCode is set until the device pairs; TokenHash after.
	PairingCode string     `json:"pairing_code,omitempty"`
	TokenHash   string     `json:"-"`
	PairedAt    *time.Time `json:"paired_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// DeviceTx is what a store keeps of devices (sqlstore/devices.go).
type DeviceTx interface {
	Devices(hallID string) ([]Device, error)
	Device(hallID string, id int64) (*Device, error)
	InsertDevice(d *Device) error
	DeviceByPairingCode(code string) (*Device, error)
	DeviceByToken(tokenHash string) (*Device, error)
	UpdateDevice(d *Device) error
	DeleteDevice(id int64) error
}

// NeedsCounter reports whether a device of kind k is bound to a counter.
func NeedsCounter(k string) bool { return k == DeviceRater || k == DeviceCounter }

// Devices returns the devices of a hall, for admins.
func (e *Engine) Devices(ctx context.Context, hallID string) ([]Device, error) {
	var out []Device
	err := e.store.View(ctx, func(tx Tx) (err error) { out, err = tx.Devices(hallID); return })
	return out, err
}

// CreateDevice registers a device with a one-time pairing code.
func (e *Engine) CreateDevice(ctx context.Context, d *Device) error {
	if err := e.Refuse(ctx, WorkDevices, d.HallID); err != nil { // edge.go: the city owns it
		return err
	}
	if !ValidDeviceKind(d.Kind) {
		return FieldErrorf("kind", "kind must be kiosk, display, rater or counter")
	}
	if NeedsCounter(d.Kind) && d.CounterID == "" {
		return FieldErrorf("counter_id", "a %s device needs a counter_id", d.Kind)
	}
	if !NeedsCounter(d.Kind) {
		d.CounterID = ""
	}
	d.PairingCode = NewPairingCode()
	d.CreatedAt = e.now()
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(d.HallID); err != nil {
			return err
		}
		if d.CounterID != "" {
			if _, err := tx.Counter(d.HallID, d.CounterID); err != nil {
				if ErrorCode(err) == ENotFound {
					return FieldErrorf("counter_id", "unknown counter %s", d.CounterID)
				}
				return err
			}
		}
		if err := tx.InsertDevice(d); err != nil {
			return err
		}
		return e.configChanged(tx, WorkDevices, d.HallID)
	})
}

// PairDevice exchanges a pairing code, once, for the device's own token.
// Wrong codes count against the client's address as wrong sign-ins do
// (login.go: loginAddrFailures in loginWindow, then 429 held as a refused
// sign-in is), and are found wrong by a read, without the writer.
func (e *Engine) PairDevice(ctx context.Context, code string) (string, *Device, error) {
	addr := clientAddrKey(ctx)
	if err := e.logins.begin(addr, "", e.now()); err != nil {
		return "", nil, holdRefusal(ctx, err)
	}
	how := attemptRefused
	defer func() { e.logins.end(addr, "", how, e.now()) }()
	wrong := func() error {
		how = attemptWrong
		return Errorf(EUnauthorized, "unknown or used pairing code")
	}
	if err := e.store.View(ctx, func(tx Tx) error {
		_, err := tx.DeviceByPairingCode(code)
		return err
	}); ErrorCode(err) == ENotFound {
		return "", nil, wrong()
	} else if err != nil {
		return "", nil, err
	}
	token := NewToken()
	var d *Device
	err := e.update(ctx, func(tx Tx) error {
		var err error
		d, err = tx.DeviceByPairingCode(code)
		if ErrorCode(err) == ENotFound { // paired by another request meanwhile
			return wrong()
		}
		if err != nil {
			return err
		}
		now := e.now()
		d.PairingCode, d.TokenHash, d.PairedAt = "", HashToken(token), &now
		if err := tx.UpdateDevice(d); err != nil {
			return err
		}
		return e.configChanged(tx, WorkDevices, d.HallID)
	})
	if err != nil {
		return "", nil, err
	}
	how = attemptRight
	return token, d, nil
}

// NewPairingCode returns an 8-character code an admin reads to a device.
func NewPairingCode() string { return randomToken(5)[:8] }

// DeleteDevice removes a device of a hall; its token stops working at once.
func (e *Engine) DeleteDevice(ctx context.Context, hallID string, id int64) error {
	if err := e.Refuse(ctx, WorkDevices, hallID); err != nil { // edge.go: the city owns it
		return err
	}
	var token string
	err := e.update(ctx, func(tx Tx) error {
		d, err := tx.Device(hallID, id)
		if err != nil {
			return err
		}
		token = d.TokenHash
		if err := tx.DeleteDevice(d.ID); err != nil {
			return err
		}
		return e.configChanged(tx, WorkDevices, hallID)
	})
	if err != nil {
		return err
	}
	if token != "" {
		e.auth.drop(token)
	}
	return nil
}

// NewDeviceCode gives a device a new one-time pairing code, for a device
// replaced or reset: the token it had stops working.
func (e *Engine) NewDeviceCode(ctx context.Context, hallID string, id int64) (*Device, error) {
	if err := e.Refuse(ctx, WorkDevices, hallID); err != nil { // edge.go: the city owns it
		return nil, err
	}
	var out *Device
	var old string
	err := e.update(ctx, func(tx Tx) error {
		d, err := tx.Device(hallID, id)
		if err != nil {
			return err
		}
		old = d.TokenHash
		d.PairingCode, d.TokenHash, d.PairedAt = NewPairingCode(), "", nil
		out = d
		if err := tx.UpdateDevice(d); err != nil {
			return err
		}
		return e.configChanged(tx, WorkDevices, hallID)
	})
	if err != nil {
		return nil, err
	}
	if old != "" {
		e.auth.drop(old)
	}
	return out, nil
}
