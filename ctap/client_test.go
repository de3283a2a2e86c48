package ctap

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// replayChannel answers every request with the same bytes.
type replayChannel struct{ reply []byte }

func (r replayChannel) CBOR(ctx context.Context, msg []byte, ka func(byte)) ([]byte, error) {
	return r.reply, nil
}

func TestStatusErrorsAreReadable(t *testing.T) {
	for _, s := range []ctapwire.Status{ctapwire.StatusPINAuthBlocked, ctapwire.StatusPINBlocked, ctapwire.StatusNotAllowed, ctapwire.StatusPINInvalid, 0x66} {
		msg := s.Error()
		if msg == "" || !strings.Contains(msg, "0x") {
			t.Errorf("status %x: %q", byte(s), msg)
		}
	}
	if !strings.Contains(ctapwire.StatusPINAuthBlocked.Error(), "unplugged and plugged back in") {
		t.Error("PIN_AUTH_BLOCKED does not tell the officer to re-plug")
	}
	err := &PINError{Status: ctapwire.StatusPINInvalid, RetriesLeft: 4}
	if !errors.Is(err, ctapwire.StatusPINInvalid) || !strings.Contains(err.Error(), "4 retries left") {
		t.Error(err)
	}
}

func TestStatusReplyBecomesTypedError(t *testing.T) {
	c := NewClient(replayChannel{[]byte{byte(ctapwire.StatusPINBlocked)}}, Options{})
	_, err := c.Info(context.Background())
	if !errors.Is(err, ctapwire.StatusPINBlocked) {
		t.Fatal(err)
	}
	for _, reply := range [][]byte{{}, {0}, {0, 0xff}, {0, 0xa1, 0x01, 0x80}} {
		_, err := NewClient(replayChannel{reply}, Options{}).Info(context.Background())
		if !errors.Is(err, ErrMalformedReply) {
			t.Errorf("reply %x: %v", reply, err)
		}
	}
}

func TestValidatePIN(t *testing.T) {
	for pin, ok := range map[string]bool{
		"1234": true, "123": false, "ñññ": false, "ññññ": true,
		strings.Repeat("9", 63): true, strings.Repeat("9", 64): false, "12\x0034": false, "\xff\xfe12": false,
	} {
		if err := ValidatePIN([]byte(pin), nil, 4); (err == nil) != ok {
			t.Errorf("%q: %v", pin, err)
		}
	}
	if ValidatePIN([]byte("12345"), nil, 6) == nil {
		t.Error("5-character PIN accepted with minPINLength 6")
	}
}

func TestPINProtocolRoundTrips(t *testing.T) {
	for _, v := range []int{1, 2} {
		p, _ := ctapwire.ProtocolByVersion(v)
		secret, _ := p.KDF([]byte("0123456789abcdef0123456789abcdef"))
		pt := []byte("0123456789abcdef0123456789abcdef")
		ct, err := p.Encrypt(secret, pt)
		if err != nil {
			t.Fatal(err)
		}
		back, err := p.Decrypt(secret, ct)
		if err != nil || string(back) != string(pt) {
			t.Fatalf("v%d: %q %v", v, back, err)
		}
		mac := p.Authenticate(secret, []byte("msg"))
		if !ctapwire.VerifyAuth(p, secret, []byte("msg"), mac) || ctapwire.VerifyAuth(p, secret, []byte("msh"), mac) {
			t.Fatalf("v%d: authenticate/verify disagree", v)
		}
		if want := map[int]int{1: 16, 2: 32}[v]; len(mac) != want {
			t.Fatalf("v%d: pinUvAuthParam of %d bytes", v, len(mac))
		}
	}
	if _, err := ctapwire.ProtocolByVersion(3); err == nil {
		t.Fatal("protocol 3 accepted")
	}
}

func TestParseAuthDataRejectsTrailingBytes(t *testing.T) {
	ad := make([]byte, 37)
	if _, err := ParseAuthData(ad); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseAuthData(append(ad, 0)); !errors.Is(err, ErrMalformedReply) {
		t.Fatal(err)
	}
	ad[32] = ctapwire.FlagAT
	if _, err := ParseAuthData(ad); !errors.Is(err, ErrMalformedReply) {
		t.Fatal(err)
	}
}

func TestAAGUIDText(t *testing.T) {
	a, err := ParseAAGUID("fa2b99dc-9e39-4257-8f92-4a30d23c4118")
	if err != nil || a.String() != "fa2b99dc-9e39-4257-8f92-4a30d23c4118" {
		t.Fatal(a, err)
	}
	if _, err := ParseAAGUID("fa2b99dc"); err == nil {
		t.Fatal("short AAGUID accepted")
	}
}

func FuzzParseAuthData(f *testing.F) {
	f.Add(make([]byte, 37))
	f.Fuzz(func(t *testing.T, b []byte) {
		ad, err := ParseAuthData(b)
		if err == nil && ad.Flags&ctapwire.FlagAT != 0 && len(ad.CredentialID) == 0 {
			t.Fatal("attested credential without an ID")
		}
	})
}

// FuzzClientReplies answers every command with hostile bytes: each decoding
// path returns an error or a value, never a panic.
func FuzzClientReplies(f *testing.F) {
	f.Add([]byte{0, 0xa1, 0x01, 0x81, 0x68, 'F', 'I', 'D', 'O', '_', '2', '_', '0'})
	f.Add([]byte{0, 0xa2, 0x05, 0x02, 0x09, 0x02})
	f.Add([]byte{0, 0xa3, 0x01, 0x66, 'p', 'a', 'c', 'k', 'e', 'd', 0x02, 0x40, 0x03, 0xa0})
	// The recorded getInfo replies of the golden tests (testdata/getinfo,
	// each naming its source) and libfido2's CTAP 2.3 reply, members
	// 0x16-0x1F included (testdata/transcripts).
	for _, reply := range recordedReplies(f) {
		f.Add(reply)
	}
	f.Fuzz(func(t *testing.T, reply []byte) {
		ctx := context.Background()
		c := NewClient(replayChannel{reply}, Options{}).(*client)
		c.Info(ctx)
		c.info = &Info{Versions: []string{"FIDO_2_1"}, PinUvAuthProtocols: []int{2}, Options: map[string]bool{"clientPin": true, "credMgmt": true, "pinUvAuthToken": true, "authnrCfg": true}}
		c.PINRetries(ctx)
		c.GetPINToken(ctx, []byte("1234"), TokenRequest{ConfirmRetries: 1})
		tok := &PINToken{protocol: ctapwire.PINProtocolTwo{}, token: make([]byte, 32), Permissions: 0xff}
		c.MakeCredential(ctx, MakeCredentialOptions{ClientDataHash: make([]byte, 32), Token: tok})
		c.GetAssertion(ctx, GetAssertionOptions{ClientDataHash: make([]byte, 32), Token: tok})
		c.CredentialsMetadata(ctx, tok)
		c.RelyingParties(ctx, tok)
		c.Credentials(ctx, tok, make([]byte, 32))
		c.SetMinPINLength(ctx, tok, 8, false)
	})
}

// recordedReplies reads every recorded getInfo reply in testdata, status
// byte first: the hex files whole, the CTAPHID transcripts' CBOR answers
// reassembled from their reports (length at bytes 5-6 of the first).
func recordedReplies(f *testing.F) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob("testdata/getinfo/*.hex")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var h strings.Builder
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "#") {
				h.WriteString(strings.TrimSpace(l))
			}
		}
		reply, err := hex.DecodeString(h.String())
		if err != nil {
			f.Fatal(name, err)
		}
		out = append(out, append([]byte{0}, reply...))
	}
	b, err := os.ReadFile("testdata/transcripts/libfido2-wiredata-yubikey.txt")
	if err != nil {
		f.Fatal(err)
	}
	var msg []byte
	n, inCBOR := -1, false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case l == "request CBOR":
			inCBOR = true
		case !inCBOR || l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "request"):
		default:
			r, err := hex.DecodeString(l)
			if err != nil || len(r) < 7 {
				f.Fatalf("transcript line %q", l)
			}
			if n < 0 {
				n, msg = int(r[5])<<8|int(r[6]), append(msg, r[7:]...)
			} else {
				msg = append(msg, r[5:]...)
			}
		}
	}
	if n < 0 || len(msg) < n {
		f.Fatal("libfido2 transcript: no complete getInfo reply")
	}
	return append(out, msg[:n])
}
