// Command nullmilter is the bench's do-nothing milter: the floor any milter
// pays in the pipeline rows. It is the same go-milter as postseal's, asks
// the MTA for the same steps (envelope and header, no replies where none can
// change the outcome) and accepts every message at the end of its header,
// as postseal's pass path does, without looking at anything.
//
//	nullmilter -listen 127.0.0.1:PORT
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/d--j/go-milter"

	psmilter "github.com/postseal/postseal/milter"
)

type accept struct{ milter.NoOpMilter }

func (accept) Headers(milter.Modifier) (*milter.Response, error) { return milter.RespAccept, nil }

func main() {
	listen := flag.String("listen", "127.0.0.1:10099", "TCP address to listen on")
	flag.Parse()
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nullmilter:", err)
		os.Exit(1)
	}
	srv := milter.NewServer(
		milter.WithMilter(func() milter.Milter { return accept{} }),
		milter.WithActions(psmilter.Actions),
		milter.WithProtocols(psmilter.Protocol),
		milter.WithMacroRequest(milter.StageEOH, []milter.MacroName{milter.MacroQueueId}),
		milter.WithMacroRequest(milter.StageEOM, []milter.MacroName{milter.MacroQueueId}),
	)
	if err := srv.Serve(l); err != nil {
		fmt.Fprintln(os.Stderr, "nullmilter:", err)
		os.Exit(1)
	}
}
