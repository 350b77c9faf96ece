package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/internal/api/consoleproxy"
)

func newConsole() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Open the Scale Out Manager page for an API elsewhere, through a local proxy that adds your credentials",
		Long: `Serve the console (the page ` + "`scaleout dev`" + ` serves at /ui/) on this computer for the API at
--endpoint, and forward the page's calls to it with your credentials: --token, or --aws-sigv4
for a stack deployed with IAM authorization (a browser cannot sign SigV4 itself). The page then
asks for no token. The proxy listens on loopback only and answers its own address only.
Ctrl-C stops it.`,
		Example: `  API=$(aws cloudformation describe-stacks --stack-name scaleout-dev \
    --query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text)
  scaleout console --endpoint "$API" --aws-sigv4      # then open http://127.0.0.1:8081/ui/`,
		Args: cobra.NoArgs,
	}
	r := newRemote(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		endpoint, token, err := r.settings(cmd)
		if err != nil {
			return err
		}
		ln, err := new(net.ListenConfig).Listen(cmd.Context(), "tcp", listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", listen, err)
		}
		defer ln.Close()
		o := consoleproxy.Options{API: endpoint, Token: token, Listen: ln.Addr().String()}
		if r.sigv4 {
			s, err := client.NewSigV4(cmd.Context(), endpoint)
			if err != nil {
				return fmt.Errorf("--aws-sigv4: %w", err)
			}
			o.Signer, o.Token = s, ""
		}
		h, err := consoleproxy.New(o)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		fmt.Fprintf(cmd.OutOrStdout(), "Scale Out Manager for %s at http://%s/ui/ (Ctrl-C stops it)\n", endpoint, ln.Addr())
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return err
		case <-cmd.Context().Done():
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8081", "the address the page is served on (loopback only)")
	return cmd
}
