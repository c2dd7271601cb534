package civiq

import (
	"sync"
	"time"
)

var locCache sync.Map // name -> *time.Location

// loadLocation is time.LoadLocation with a cache: it is on the hot path of
// every ticket issued.
func loadLocation(name string) (*time.Location, error) {
	if l, ok := locCache.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locCache.Store(name, l)
	return l, nil
}
