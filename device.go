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
	err := e.Store.View(ctx, func(tx Tx) (err error) { out, err = tx.Devices(hallID); return })
	return out, err
}
