package sqldb

import (
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// CreateCompany inserts c.
func (tx *Tx) CreateCompany(c *gatehouse.Company) error {
	_, err := tx.exec(`INSERT INTO companies (id, name, require_totp, created_at) VALUES ($1, $2, $3, $4)`,
		c.ID, c.Name, c.RequireTOTP, ms(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert company: %w", err)
	}
	return nil
}

// Company returns the company with the given ID.
func (tx *Tx) Company(id string) (*gatehouse.Company, error) {
	var c gatehouse.Company
	var created int64
	err := tx.queryRow(`SELECT id, name, require_totp, created_at FROM companies WHERE id = $1`, id).
		Scan(&c.ID, &c.Name, &c.RequireTOTP, &created)
	if err != nil {
		return nil, notFound(err, "Company")
	}
	c.CreatedAt = fromMS(created)
	return &c, nil
}

// UpdateCompany saves the company's name and 2FA requirement.
func (tx *Tx) UpdateCompany(c *gatehouse.Company) error {
	n, err := tx.exec(`UPDATE companies SET name = $2, require_totp = $3 WHERE id = $1`, c.ID, c.Name, c.RequireTOTP)
	if err != nil {
		return fmt.Errorf("update company: %w", err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "Company not found.")
	}
	return nil
}

// CompanyCount counts the companies.
func (tx *Tx) CompanyCount() (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM companies`).Scan(&n)
	return n, err
}

// Companies returns up to limit companies whose ID is after after, by ID.
func (tx *Tx) Companies(after string, limit int) ([]*gatehouse.Company, error) {
	rows, err := tx.query(`SELECT id, name, require_totp, created_at FROM companies WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list companies: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.Company
	for rows.Next() {
		var c gatehouse.Company
		var created int64
		if err := rows.Scan(&c.ID, &c.Name, &c.RequireTOTP, &created); err != nil {
			return nil, err
		}
		c.CreatedAt = fromMS(created)
		list = append(list, &c)
	}
	return list, rows.Err()
}

// LockCompany writes to the company's row, which holds its lock until the
// transaction ends (PostgreSQL); SQLite has one writer anyway.
func (tx *Tx) LockCompany(id string) error {
	n, err := tx.exec(`UPDATE companies SET version = version + 1 WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("lock company: %w", err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "Company not found.")
	}
	return nil
}
