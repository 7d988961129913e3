package envelope

import (
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Parallel compression of a large message, the way pigz does it: the input
// is cut into blocks of blockSize, each deflated on its own by one of a few
// workers with the input just before it as its dictionary (so matches
// reach back across the cut), and ended with a sync flush (an empty stored
// block: the output ends on a byte boundary, and the block is not marked
// final), except the message's last block, which is closed. The outputs,
// concatenated in order, are one raw DEFLATE stream. Deflate is four
// fifths of a 10 MB text seal's CPU, and encryption and armour are serial:
// while the workers compress the next blocks, the writing goroutine
// encrypts and armours the finished ones, so the stages overlap.

const (
	// blockSize: small blocks keep few bytes in flight (the seal-10mb-heap
	// row: the online copy of the payload already takes most of the
	// budget) and still cost the handoff only once per 128 KB.
	blockSize = 128 << 10
	// dictSize: the compressor encodes its dictionary before the block,
	// so a full 32 KB window would add a quarter to each block's work;
	// mail text finds nearly all its matches in the last few KB (10 MB of
	// it deflates to 0.2522 in independent 256 KB blocks, 0.2510 with a
	// 4 KB dictionary, 0.2507 with 32 KB or as one stream).
	dictSize = 4 << 10
	// parallelMin: below it one compressor streams; a goroutine per
	// short message would cost more than it saves (the pipeline seals
	// many small messages at once anyway).
	parallelMin = 1 << 20
	// blockOutSize holds a block's output: deflate stores what it cannot
	// compress (5 octets per 64 KB stored block) and the sync flush adds
	// 5 more; appends beyond it would grow the slice, not fail.
	blockOutSize = blockSize + blockSize/1024 + 64
)

// deflateBlock is one block of input and its compressed output.
type deflateBlock struct {
	// in is dictSize + blockSize: in[:dict] the dictionary, then the
	// input. The worker releases it once compressed (the next block took
	// its dictionary at dispatch).
	in   *[]byte
	dict int
	n    int // input bytes after the dictionary
	out  *[]byte
	outN []byte // the output, in out's array (or grown past it)
	last bool
	done chan struct{}
}

func (b *deflateBlock) data() []byte { return (*b.in)[b.dict : b.dict+b.n] }

// blockDeflater is the parallel compressor: Write fills the current block,
// hands full ones to the workers and writes the finished outputs, in order,
// to w. At most maxPending blocks are in flight: that bounds the memory
// (each holds ~0.26 MB at worst) and, when the writing side (encryption,
// armour, the MTA) is the slower, makes the compression wait for it.
type blockDeflater struct {
	w          io.Writer
	jobs       chan *deflateBlock
	pending    []*deflateBlock // dispatched, in input order
	maxPending int
	cur        *deflateBlock
	workers    sync.WaitGroup
	err        error
}

func newBlockDeflater(w io.Writer, workers int) *blockDeflater {
	// One block in flight per worker: a worker idles only while the
	// writer writes out the oldest block (a quarter of its input, for
	// text), and each more block in flight would hold ~0.26 MB more of
	// the seal-10mb-heap row's budget.
	d := &blockDeflater{w: w, maxPending: workers, jobs: make(chan *deflateBlock, workers)}
	d.cur = d.newBlock(nil)
	d.workers.Add(workers)
	for range workers {
		go d.work(d.jobs)
	}
	return d
}

// newBlock starts a block whose dictionary is the end of prev's input.
func (d *blockDeflater) newBlock(prev *deflateBlock) *deflateBlock {
	b := &deflateBlock{in: getBuf(dictSize + blockSize), done: make(chan struct{})}
	if prev != nil {
		src := (*prev.in)[:prev.dict+prev.n]
		b.dict = copy((*b.in)[:dictSize], src[max(0, len(src)-dictSize):])
	}
	return b
}

// work compresses the blocks from jobs (a parameter: Close clears d.jobs,
// maybe before a worker has started).
func (d *blockDeflater) work(jobs <-chan *deflateBlock) {
	defer d.workers.Done()
	z := flateWriters.Get().(*flate.Writer)
	defer func() {
		// No dictionary or writer of this message stays with the
		// pooled compressor.
		z.ResetDict(nil, nil)
		flateWriters.Put(z)
	}()
	for b := range jobs {
		b.out = getBuf(blockOutSize)
		out := sliceWriter((*b.out)[:0])
		z.ResetDict(&out, (*b.in)[:b.dict])
		// Writes into memory cannot fail.
		_, _ = z.Write(b.data())
		if b.last {
			_ = z.Close()
		} else {
			_ = z.Flush()
		}
		b.outN = out
		putBuf(b.in)
		b.in = nil
		close(b.done)
	}
}

// sliceWriter appends to itself.
type sliceWriter []byte

func (s *sliceWriter) Write(p []byte) (int, error) { *s = append(*s, p...); return len(p), nil }

func (d *blockDeflater) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n := len(p)
	for len(p) > 0 {
		b := d.cur
		k := copy((*b.in)[b.dict+b.n:b.dict+blockSize], p)
		b.n += k
		p = p[k:]
		if b.n == blockSize {
			// A full block goes once more input follows, so that the
			// last block is the one Close marks final.
			if len(p) == 0 {
				break
			}
			if err := d.dispatch(false); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// dispatch hands the current block to the workers and starts the next;
// when too many are in flight it first writes out the oldest.
func (d *blockDeflater) dispatch(last bool) error {
	for len(d.pending) >= d.maxPending {
		if err := d.writeOldest(); err != nil {
			return err
		}
	}
	b := d.cur
	b.last = last
	// The next block takes its dictionary before the worker can release
	// this one's input.
	d.cur = nil
	if !last {
		d.cur = d.newBlock(b)
	}
	d.pending = append(d.pending, b)
	d.jobs <- b
	// Whatever is already finished goes out now: the writer's work
	// overlaps the compression of the blocks behind it.
	for len(d.pending) > 0 {
		select {
		case <-d.pending[0].done:
			if err := d.writeOldest(); err != nil {
				return err
			}
			continue
		default:
		}
		break
	}
	return nil
}

// writeOldest waits for the oldest block in flight and writes its output.
func (d *blockDeflater) writeOldest() error {
	b := d.pending[0]
	<-b.done
	d.pending[0] = nil
	d.pending = d.pending[1:]
	_, err := d.w.Write(b.outN)
	d.release(b)
	if err != nil {
		d.err = err
	}
	return err
}

func (d *blockDeflater) release(b *deflateBlock) {
	if b.in != nil {
		putBuf(b.in)
	}
	if b.out != nil {
		putBuf(b.out)
	}
	b.in, b.out, b.outN = nil, nil, nil
}

// Close compresses the last block, writes everything out and ends the
// workers.
func (d *blockDeflater) Close() error {
	if d.err != nil {
		d.abort()
		return d.err
	}
	if err := d.dispatch(true); err != nil {
		d.abort()
		return err
	}
	for len(d.pending) > 0 {
		if err := d.writeOldest(); err != nil {
			d.abort()
			return err
		}
	}
	close(d.jobs)
	d.jobs = nil
	d.workers.Wait()
	return nil
}

// abort ends the workers after an error, dropping what they made.
func (d *blockDeflater) abort() {
	if d.jobs == nil {
		return
	}
	close(d.jobs)
	d.jobs = nil
	d.workers.Wait()
	for _, b := range d.pending {
		d.release(b)
	}
	d.pending = nil
	if d.cur != nil {
		d.release(d.cur)
		d.cur = nil
	}
	if d.err == nil {
		d.err = io.ErrClosedPipe
	}
}
