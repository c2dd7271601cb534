package sqlstore

import (
	"fmt"

	"github.com/civiq/civiq"
)

// A hall's own working-day calendar (civiq's calendar.go; migration 0002).

var _ civiq.CalendarTx = (*tx)(nil)

func (t *tx) CalendarYears(hallID string) ([]int, error) {
	rows, err := t.rows(`SELECT year FROM calendar_years WHERE hall_id = ? ORDER BY year`, hallID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var y int
		if err := rows.Scan(&y); err != nil {
			return nil, err
		}
		out = append(out, y)
	}
	return out, rows.Err()
}

func (t *tx) CalendarDays(hallID string) ([]civiq.CalendarDay, error) {
	rows, err := t.rows(`SELECT day, kind, name FROM calendar_days WHERE hall_id = ? ORDER BY day`, hallID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []civiq.CalendarDay
	for rows.Next() {
		var d civiq.CalendarDay
		if err := rows.Scan(&d.Date, &d.Kind, &d.Name); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// yearRange is the days of a year as stored, [first, next).
func yearRange(year int) (string, string) {
	return fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-01-01", year+1)
}

func (t *tx) PutCalendarYear(hallID string, year int, days []civiq.CalendarDay) error {
	first, next := yearRange(year)
	if err := t.exec(`DELETE FROM calendar_days WHERE hall_id = ? AND day >= ? AND day < ?`, hallID, first, next); err != nil {
		return err
	}
	if err := t.exec(`INSERT INTO calendar_years (hall_id, year) VALUES (?, ?) ON CONFLICT DO NOTHING`, hallID, year); err != nil {
		return err
	}
	for _, d := range days {
		if err := t.PutCalendarDay(hallID, d); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) DeleteCalendarYear(hallID string, year int) error {
	first, next := yearRange(year)
	if err := t.exec(`DELETE FROM calendar_days WHERE hall_id = ? AND day >= ? AND day < ?`, hallID, first, next); err != nil {
		return err
	}
	return t.exec(`DELETE FROM calendar_years WHERE hall_id = ? AND year = ?`, hallID, year)
}

func (t *tx) PutCalendarDay(hallID string, d civiq.CalendarDay) error {
	return t.exec(`INSERT INTO calendar_days (hall_id, day, kind, name) VALUES (?, ?, ?, ?)
		ON CONFLICT (hall_id, day) DO UPDATE SET kind = excluded.kind, name = excluded.name`, hallID, d.Date, d.Kind, d.Name)
}

func (t *tx) DeleteCalendarDay(hallID, date string) error {
	return t.exec(`DELETE FROM calendar_days WHERE hall_id = ? AND day = ?`, hallID, date)
}
