package conformance

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// corpus is one of the payload sources of sections 12 and 13. Autobahn
// ships five files (a JSON document, the Lena bitmap, Goethe's Faust from
// Project Gutenberg, an HTML page and a PDF); the driver generates stand-ins
// of the same kind and size from a fixed seed, so that compression ratios
// are alike and every run sends the same bytes, with no data files to ship.
type corpus struct {
	desc   string
	binary bool // sent as binary messages, else as text
	size   int
	gen    func(r *rand.Rand, n int) []byte

	once sync.Once
	data []byte
}

// bytes returns the corpus, generated on first use.
func (c *corpus) bytes() []byte {
	c.once.Do(func() {
		r := rand.New(rand.NewPCG(uint64(c.size), 0x9e3779b97f4a7c15))
		c.data = c.gen(r, c.size)[:c.size]
	})
	return c.data
}

// opcode is the opcode of the corpus's messages.
func (c *corpus) opcode() rawclient.Opcode {
	if c.binary {
		return rawclient.OpBinary
	}
	return rawclient.OpText
}

// String names the corpus as Autobahn's section headings do.
func (c *corpus) String() string {
	kind := "utf8"
	if c.binary {
		kind = "binary"
	}
	return fmt.Sprintf("%s (%s, %d bytes)", c.desc, kind, c.size)
}

// corpusReader hands out consecutive slices of a corpus, wrapping around
// at its end, as Autobahn takes its messages from its test files.
type corpusReader struct {
	c   *corpus
	pos int
}

func (r *corpusReader) next(n int) []byte {
	data := r.c.bytes()
	out := make([]byte, 0, n)
	for len(out) < n {
		k := min(n-len(out), len(data)-r.pos)
		out = append(out, data[r.pos:r.pos+k]...)
		r.pos = (r.pos + k) % len(data)
	}
	return out
}

// The corpora in the order of Autobahn's subsections 12.1–12.5. The text
// ones are ASCII, so that a slice cut anywhere is valid UTF-8.
var (
	jsonCorpus  = &corpus{desc: "Large JSON data file", size: 194237, gen: genJSON}
	lenaCorpus  = &corpus{desc: "Lena Picture, Bitmap 512x512 bw", binary: true, size: 263222, gen: genBitmap}
	faustCorpus = &corpus{desc: "Human readable text, Goethe's Faust I (German)", binary: true, size: 222218, gen: genVerse}
	htmlCorpus  = &corpus{desc: "Large HTML file", size: 83599, gen: genHTML}
	pdfCorpus   = &corpus{desc: "A larger PDF", binary: true, size: 1042328, gen: genPDF}
)

var corpora = []*corpus{jsonCorpus, lenaCorpus, faustCorpus, htmlCorpus, pdfCorpus}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

var (
	firstNames = []string{"Ada", "Alan", "Grace", "Linus", "Barbara", "Edsger", "Margaret", "Ken", "Radia", "Donald", "Frances", "Tim"}
	lastNames  = []string{"Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Dijkstra", "Hamilton", "Thompson", "Perlman", "Knuth", "Allen", "Berners-Lee"}
	cities     = []string{"Berlin", "Lisbon", "Osaka", "Toronto", "Nairobi", "Lima", "Oslo", "Austin", "Hanoi", "Porto"}
	tags       = []string{"admin", "beta", "trial", "vip", "mobile", "desktop", "legacy", "eu", "us", "apac", "staff"}
	words      = strings.Fields("the quick brown fox jumps over lazy dog while server client message frame socket stream window buffer compress inflate deflate header payload protocol connection handshake event handler router middleware latency throughput")
)

// genJSON writes an array of user records, like an API response.
func genJSON(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	b.WriteString("[\n")
	for id := 1; b.Len() < n; id++ {
		first, last := pick(r, firstNames), pick(r, lastNames)
		fmt.Fprintf(&b, `  {"id": %d, "name": "%s %s", "email": "%s.%s@example.com", "age": %d, "active": %t, `,
			id, first, last, strings.ToLower(first), strings.ToLower(last), 18+r.IntN(60), r.IntN(2) == 0)
		fmt.Fprintf(&b, `"balance": %.2f, "address": {"city": "%s", "zip": "%05d"}, "tags": [`, r.Float64()*10000, pick(r, cities), r.IntN(100000))
		for i := range 1 + r.IntN(3) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", pick(r, tags))
		}
		fmt.Fprintf(&b, `], "guid": "%08x-%04x-%04x", "about": "%s"},`+"\n", r.Uint32(), r.IntN(1<<16), r.IntN(1<<16), sentence(r, 6+r.IntN(10)))
	}
	return b.Bytes()
}

func sentence(r *rand.Rand, n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = pick(r, words)
	}
	return strings.Join(ws, " ")
}

// genHTML writes a page of articles with links and tables.
func genHTML(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Archive</title>\n<link rel=\"stylesheet\" href=\"/static/site.css\"></head>\n<body>\n")
	for i := 1; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<div class=\"article\" id=\"post-%d\">\n  <h2><a href=\"/posts/%d\">%s</a></h2>\n", i, i, sentence(r, 4))
		for range 1 + r.IntN(3) {
			fmt.Fprintf(&b, "  <p class=\"text\">%s <a href=\"/tags/%s\">%s</a>.</p>\n", sentence(r, 20+r.IntN(30)), pick(r, tags), pick(r, words))
		}
		fmt.Fprintf(&b, "  <table class=\"meta\"><tr><td>author</td><td>%s %s</td></tr><tr><td>views</td><td>%d</td></tr></table>\n</div>\n",
			pick(r, firstNames), pick(r, lastNames), r.IntN(100000))
	}
	return b.Bytes()
}

// genVerse writes German verse drama, with umlauts, as a play's text.
func genVerse(r *rand.Rand, n int) []byte {
	speakers := []string{"FAUST", "MEPHISTOPHELES", "WAGNER", "MARGARETE", "MARTHE", "CHOR DER ENGEL"}
	verse := strings.Fields("Habe nun ach Philosophie Juristerei und Medizin leider auch Theologie durchaus studiert mit heißem Bemühn da steh ich nun ich armer Tor bin so klug als wie zuvor heiße Magister Doktor gar ziehe schon an die zehen Jahr herauf herab und quer und krumm meine Schüler an der Nase herum und sehe daß wir nichts wissen können das will mir schier das Herz verbrennen Geist der stets verneint Grau teurer Freund ist alle Theorie grün des Lebens goldner Baum Verweile doch du bist so schön")
	var b bytes.Buffer
	b.WriteString("The Project Gutenberg EBook of Faust: Der Tragödie erster Teil\n\n")
	for b.Len() < n {
		fmt.Fprintf(&b, "\n%s:\n", pick(r, speakers))
		for range 2 + r.IntN(6) {
			line := make([]string, 5+r.IntN(4))
			for i := range line {
				line[i] = pick(r, verse)
			}
			b.WriteString(strings.Join(line, " ") + pick(r, []string{",", ".", "!", "?", ";"}) + "\n")
		}
	}
	return b.Bytes()
}

// genBitmap writes an 8-bit grayscale BMP of smooth shapes with noise, as
// a photograph compresses: some, but far from all.
func genBitmap(r *rand.Rand, n int) []byte {
	const w, h = 512, 512
	const headers = 14 + 40 + 256*4
	b := make([]byte, 0, max(n, headers+w*h))
	b = append(b, 'B', 'M')
	b = binary.LittleEndian.AppendUint32(b, uint32(headers+w*h))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, headers)
	for _, v := range []uint32{40, w, h} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 8)
	for _, v := range []uint32{0, w * h, 2835, 2835, 256, 0} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for i := range 256 {
		b = append(b, byte(i), byte(i), byte(i), 0)
	}
	for y := range h {
		for x := range w {
			v := 128 + 60*math.Sin(float64(x)/23)*math.Cos(float64(y)/31) + 40*math.Sin(float64(x+y)/71)
			b = append(b, byte(max(0, min(255, v+float64(r.IntN(9)-4)))))
		}
	}
	for len(b) < n {
		b = append(b, 0)
	}
	return b
}

// genPDF writes PDF objects whose streams are random bytes, as the
// already-compressed streams of a real PDF are: deflate gains nothing on
// most of it.
func genPDF(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	for obj := 1; b.Len() < n; obj++ {
		if obj%4 == 0 {
			fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>\nendobj\n", obj, obj+1)
			continue
		}
		length := 2048 + r.IntN(30000)
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", obj, length)
		chunk := make([]byte, length)
		for i := 0; i < length; i += 8 {
			var word [8]byte
			binary.LittleEndian.PutUint64(word[:], r.Uint64())
			copy(chunk[i:], word[:])
		}
		b.Write(chunk)
		b.WriteString("\nendstream\nendobj\n")
	}
	return b.Bytes()
}
