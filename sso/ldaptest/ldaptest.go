// Package ldaptest starts a real LDAP server for tests: OpenLDAP's slapd,
// from the machine's binaries (Debian's slapd package), in a temporary
// directory on a free loopback port, loaded with the entries a test gives
// in LDIF. Without slapd the test is skipped, or fails when
// CIVIQ_REQUIRE_LDAP=1 (CI).
package ldaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Suffix is the directory's base; RootDN and RootPassword its manager.
const (
	Suffix       = "dc=example,dc=gov,dc=cn"
	RootDN       = "cn=admin," + Suffix
	RootPassword = "root-password-for-tests"
)

// find gives slapd, slapadd and the directories of the schemas and the
// modules, or what is missing.
func find() (slapd, slapadd, schema, modules string, err error) {
	for _, p := range []string{os.Getenv("CIVIQ_SLAPD"), "/usr/sbin/slapd"} {
		if p != "" {
			if _, e := os.Stat(p); e == nil {
				slapd = p
				break
			}
		}
	}
	slapadd = filepath.Join(filepath.Dir(slapd), "slapadd")
	schema, modules = "/etc/ldap/schema", "/usr/lib/ldap"
	for _, p := range []string{slapd, slapadd, filepath.Join(schema, "inetorgperson.schema"), modules} {
		if _, e := os.Stat(p); p == "" || e != nil {
			return "", "", "", "", fmt.Errorf("slapd is not installed (apt-get install slapd): %s missing", p)
		}
	}
	return slapd, slapadd, schema, modules, nil
}

// Start runs slapd with the directory Suffix holding ldif's entries (the
// suffix's own entry is made) and returns its ldap:// URL; it stops when
// t ends.
func Start(t testing.TB, ldif string) string {
	t.Helper()
	u, _, _ := start(t, ldif, false)
	return u
}

// StartTLS is Start with TLS: the ldap:// URL takes StartTLS, the
// ldaps:// URL is TLS from the start, both with a certificate for
// 127.0.0.1 that roots alone trusts.
func StartTLS(t testing.TB, ldif string) (ldapURL, ldapsURL string, roots *x509.CertPool) {
	t.Helper()
	return start(t, ldif, true)
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// certificate writes a self-signed certificate for 127.0.0.1 and its key
// into dir, and gives the pool that trusts it.
func certificate(t testing.TB, dir string) *x509.CertPool {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "civiq test directory"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

func start(t testing.TB, ldif string, withTLS bool) (ldapURL, ldapsURL string, roots *x509.CertPool) {
	t.Helper()
	slapd, slapadd, schema, modules, err := find()
	if err != nil {
		if os.Getenv("CIVIQ_REQUIRE_LDAP") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	var b strings.Builder
	for _, s := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&b, "include %s/%s.schema\n", schema, s)
	}
	fmt.Fprintf(&b, "modulepath %s\nmoduleload back_mdb\npidfile %s/slapd.pid\n", modules, dir)
	if withTLS {
		roots = certificate(t, dir)
		fmt.Fprintf(&b, "TLSCertificateFile %s/cert.pem\nTLSCertificateKeyFile %s/key.pem\n", dir, dir)
	}
	fmt.Fprintf(&b, "database mdb\nmaxsize 16777216\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s/db\n", Suffix, RootDN, RootPassword, dir)
	b.WriteString("access to attrs=userPassword by anonymous auth by self read by * none\naccess to * by * read\n")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	data := fmt.Sprintf("dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: civiq tests\ndc: example\n\n%s", Suffix, ldif)
	add := exec.Command(slapadd, "-f", conf, "-q")
	add.Stdin = strings.NewReader(data)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	ldapURL = "ldap://" + addr
	listen := ldapURL + "/"
	if withTLS {
		ldapsURL = "ldaps://" + freeAddr(t)
		listen += " " + ldapsURL + "/"
	}
	cmd := exec.Command(slapd, "-f", conf, "-h", listen, "-d", "0")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return ldapURL, ldapsURL, roots
		}
		select {
		case err := <-done:
			t.Fatalf("slapd stopped: %v\n%s", err, log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not listen on %s within 15 s", addr)
		}
	}
}

// Sample is a directory for tests: people under ou=people (chen.jing,
// password directory-pass, in the group demo-staff and with
// businessCategory cn=hall-leads,ou=roles,… on her entry, standing in for
// memberOf, which slapd keeps only with an overlay; li.qiang, other-pass,
// in demo-staff; twin, twin-pass, in no group, whose mail
// twin@example.gov.cn a second entry shares), groups (groupOfNames) under
// ou=groups.
const Sample = `dn: ou=people,dc=example,dc=gov,dc=cn
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=gov,dc=cn
objectClass: organizationalUnit
ou: groups

dn: uid=chen.jing,ou=people,dc=example,dc=gov,dc=cn
objectClass: inetOrgPerson
uid: chen.jing
cn: 陈静
sn: 陈
userPassword: directory-pass
businessCategory: cn=hall-leads,ou=roles,dc=example,dc=gov,dc=cn

dn: uid=li.qiang,ou=people,dc=example,dc=gov,dc=cn
objectClass: inetOrgPerson
uid: li.qiang
cn: 李强
sn: 李
userPassword: other-pass

dn: uid=twin,ou=people,dc=example,dc=gov,dc=cn
objectClass: inetOrgPerson
uid: twin
cn: twin one
sn: one
mail: twin@example.gov.cn
userPassword: twin-pass

dn: cn=twin two,ou=groups,dc=example,dc=gov,dc=cn
objectClass: inetOrgPerson
cn: twin two
sn: two
mail: twin@example.gov.cn
userPassword: twin-pass

dn: cn=demo-staff,ou=groups,dc=example,dc=gov,dc=cn
objectClass: groupOfNames
cn: demo-staff
member: uid=chen.jing,ou=people,dc=example,dc=gov,dc=cn
member: uid=li.qiang,ou=people,dc=example,dc=gov,dc=cn
`
