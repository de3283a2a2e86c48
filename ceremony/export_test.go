package ceremony

import "errors"

// FailWritesAfter makes j's file fail every write after the next n, the
// failing one torn halfway, as a full disk does.
func FailWritesAfter(j *Journal, n int) {
	j.f = &failingFile{journalFile: j.f, left: n}
}

type failingFile struct {
	journalFile
	left int
}

func (f *failingFile) Write(b []byte) (int, error) {
	if f.left <= 0 {
		n, _ := f.journalFile.Write(b[:len(b)/2])
		return n, errors.New("no space left on device")
	}
	f.left--
	return f.journalFile.Write(b)
}
