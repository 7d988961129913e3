package scanner

// Compressed RTF (MS-OXRTFCP), the form in which Outlook keeps the body of
// a rich-text message in PR_RTF_COMPRESSED: often a message's only body,
// so a scanner that cannot read it would pass whatever it holds unread.
// The format is a 16-byte header and an LZ77 variant ("LZFu") over a
// 4,096-byte circular dictionary preloaded with common RTF; or, marked
// "MELA", the RTF stored as it is.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	rtfcpCompressed   = 0x75465A4C // "LZFu"
	rtfcpUncompressed = 0x414C454D // "MELA"
	rtfcpHeader       = 16
)

// rtfcpDict is the dictionary's initial content (MS-OXRTFCP 3.1.3.1),
// 207 bytes; writing starts right after it.
const rtfcpDict = `{\rtf1\ansi\mac\deff0\deftab720{\fonttbl;}{\f0\fnil \froman \fswiss \fmodern \fscript \fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\colortbl\red0\green0\blue0` +
	"\r\n" + `\par \pard\plain\f0\fs20\b\i\u\tab\tx`

// errRTFCPLimit: the RTF is (or says it is) larger than the limit given.
var errRTFCPLimit = errors.New("larger than the limit")

// decompressRTF returns the RTF that b, a PR_RTF_COMPRESSED stream, holds,
// at most limit bytes (errRTFCPLimit beyond). Anything that does not add
// up — sizes, CRC, a reference past the end, data that stops before its
// end marker or runs past its declared size — is an error: what cannot be
// read exactly is not read at all.
func decompressRTF(b []byte, limit int) ([]byte, error) {
	if len(b) < rtfcpHeader {
		return nil, errors.New("shorter than its header")
	}
	compSize := binary.LittleEndian.Uint32(b)
	rawSize := binary.LittleEndian.Uint32(b[4:])
	typ := binary.LittleEndian.Uint32(b[8:])
	crc := binary.LittleEndian.Uint32(b[12:])
	if uint64(compSize) != uint64(len(b)-4) {
		return nil, fmt.Errorf("size %d declared, %d present", compSize, len(b)-4)
	}
	data := b[rtfcpHeader:]
	switch typ {
	case rtfcpUncompressed:
		// Stored as it is: all of it is read, whatever RAWSIZE says.
		if len(data) > limit {
			return nil, errRTFCPLimit
		}
		return data, nil
	case rtfcpCompressed:
	default:
		return nil, fmt.Errorf("unknown compression type %#08x", typ)
	}
	// CRC-32 (the IEEE polynomial), but from 0 and not inverted at the end.
	if got := ^crc32.Update(0xffffffff, crc32.IEEETable, data); got != crc {
		return nil, fmt.Errorf("CRC %#08x, computed %#08x", crc, got)
	}
	if uint64(rawSize) > uint64(limit) {
		return nil, errRTFCPLimit
	}
	var dict [4096]byte
	copy(dict[:], rtfcpDict)
	w := len(rtfcpDict) // write position in dict
	// At most 8 bytes out per byte in: a control byte and eight 2-byte
	// references, 17 bytes, give 8×17.
	out := make([]byte, 0, min(int(rawSize), 8*len(data)))
	for i := 0; ; {
		if i >= len(data) {
			return nil, errors.New("data ends before its end marker")
		}
		control := data[i]
		i++
		for bit := 0; bit < 8; bit++ {
			if i >= len(data) {
				return nil, errors.New("data ends before its end marker")
			}
			if control&(1<<bit) == 0 {
				if len(out) >= int(rawSize) {
					return nil, fmt.Errorf("more than its declared %d bytes", rawSize)
				}
				c := data[i]
				i++
				out = append(out, c)
				dict[w] = c
				w = (w + 1) % len(dict)
				continue
			}
			if i+1 >= len(data) {
				return nil, errors.New("data ends inside a reference")
			}
			ref := int(data[i])<<8 | int(data[i+1])
			i += 2
			off, n := ref>>4, ref&0xf+2
			if off == w {
				return out, nil // the end marker
			}
			if len(out)+n > int(rawSize) {
				return nil, fmt.Errorf("more than its declared %d bytes", rawSize)
			}
			// Byte by byte: a reference may run into what it writes.
			for k := 0; k < n; k++ {
				c := dict[(off+k)%len(dict)]
				out = append(out, c)
				dict[w] = c
				w = (w + 1) % len(dict)
			}
		}
	}
}
