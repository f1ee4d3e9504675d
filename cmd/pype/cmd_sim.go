package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simvenues"
)

// simFlags configure the simulated market (shared by sim and sim truth).
type simFlags struct {
	seed    uint64
	now     string
	history string
	rate    float64
}

func (s *simFlags) register(cmd *cobra.Command) {
	cmd.Flags().Uint64Var(&s.seed, "seed", 1, "market seed: the same seed and --now give the same market")
	cmd.Flags().StringVar(&s.now, "now", "", "virtual now at start (default: the current time); trades after it appear as time passes")
	cmd.Flags().StringVar(&s.history, "history", "30d", "how much trade history before now (e.g. 30d, 12h)")
	cmd.Flags().Float64Var(&s.rate, "trades-per-second", 0, "override every symbol's mean aggregate-trade rate")
}

func (s *simFlags) apply(cfg *sim.Config, now time.Time) error {
	cfg.Seed = s.seed
	cfg.Now = now
	if s.now != "" {
		ns, err := domain.ParseTime(s.now)
		if err != nil {
			return fmt.Errorf("--now: %w", err)
		}
		cfg.Now = domain.Time(ns)
	}
	h, err := parseDays(s.history)
	if err != nil || h <= 0 {
		return usagef("invalid --history %q (e.g. 30d, 36h)", s.history)
	}
	cfg.History = h
	if s.rate < 0 {
		return usagef("invalid --trades-per-second %v", s.rate)
	}
	cfg.TradesPerSecond = s.rate
	return nil
}

// parseDays is time.ParseDuration that also accepts a "d" (day) suffix.
func parseDays(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return 0, err
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	return time.ParseDuration(s)
}

func (c *cli) simCommand() *cobra.Command {
	var (
		sf          simFlags
		venueList   string
		listen      []string
		speed       float64
		frozen      bool
		faults      string
		weightLimit int
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the local exchange simulator (real wire formats, ground truth, faults)",
		Long: `Run pype's exchange simulator: each venue's real REST and WebSocket API on
loopback, backed by a deterministic seeded market (trades first; candles and
books derived from them), with the venue's rate limits and optional faults.
Point pype (--rest-url/--ws-url, or PYPE_<VENUE>_REST_URL) or any client
(ccxt, your bot) at the printed URLs. Stop with Ctrl-C.

The simulator also serves ground truth at /_sim/truth/{trades,candles,book}
and statistics at /_sim/stats; "pype sim truth" answers the same questions
offline for a given --seed and --now.

Faults (--faults, comma-separated key=value): latency=50ms, jitter=20ms,
5xx=0.05, reset=0.02, truncate=0.02, 429=0.01, wsdrop=1000, depthgap=200,
wsdelay=0.01:250ms, wsdup=0.01, skew=-2s. Change them while running with
POST /_sim/faults?set=SPEC.`,
		Example: `  pype sim
  pype sim --venues binance --listen 127.0.0.1:8080 --seed 7
  pype sim --faults latency=20ms,5xx=0.02,wsdrop=500
  pype backfill --venue binance --rest-url http://127.0.0.1:8080 --symbol BTC/USDT --type trades --from 2024-06-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := sim.Config{Registry: simvenues.Registry(), Speed: speed, Frozen: frozen, WeightLimit: weightLimit, Logger: c.log}
			if err := sf.apply(&cfg, c.env.now().UTC().Truncate(time.Millisecond)); err != nil {
				return err
			}
			known := cfg.Registry.Names()
			if venueList != "" {
				for _, v := range strings.Split(venueList, ",") {
					v = strings.ToLower(strings.TrimSpace(v))
					if !containsString(known, v) {
						return usagef("unknown simulated venue %q (accepted: %s)", v, strings.Join(known, ", "))
					}
					cfg.Venues = append(cfg.Venues, v)
				}
			}
			running := cfg.Venues
			if len(running) == 0 {
				running = known
			}
			cfg.Listen = map[string]string{}
			for _, l := range listen {
				if name, addr, ok := strings.Cut(l, "="); ok {
					cfg.Listen[strings.ToLower(name)] = addr
					continue
				}
				if len(running) > 1 && !strings.HasSuffix(l, ":0") {
					return usagef("--listen %s with a fixed port needs venue=addr when several venues run (e.g. --listen binance=%s)", l, l)
				}
				for _, v := range running {
					cfg.Listen[v] = l
				}
			}
			if faults != "" {
				f, err := sim.ParseFaults(faults)
				if err != nil {
					return &usageError{err}
				}
				cfg.Faults = map[string]sim.Faults{"*": f}
			}
			if speed < 0 {
				return usagef("invalid --speed %v", speed)
			}
			fmt.Fprintf(c.stdout, "pype sim: seed=%d now=%s history=%s — query truth with: pype sim truth --seed %d --now %s --history %s ...\n",
				cfg.Seed, cfg.Now.Format(time.RFC3339Nano), sf.history, cfg.Seed, cfg.Now.Format(time.RFC3339Nano), sf.history)
			return simvenues.Run(cmd.Context(), cfg, c.stdout)
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&venueList, "venues", "", "venues to simulate, comma-separated (default all)")
	cmd.Flags().StringArrayVar(&listen, "listen", nil, "listen address host:port (port 0 = any), or venue=host:port; repeatable (default 127.0.0.1:0)")
	cmd.Flags().Float64Var(&speed, "speed", 1, "virtual seconds per wall second")
	cmd.Flags().BoolVar(&frozen, "frozen", false, "stop the virtual clock at --now (fully reproducible responses)")
	cmd.Flags().StringVar(&faults, "faults", "", "faults to inject in every venue, e.g. latency=50ms,5xx=0.05,wsdrop=1000")
	cmd.Flags().IntVar(&weightLimit, "weight-limit", 0, "override the venue's request-weight limit per minute (Binance: 6000)")
	cmd.AddCommand(c.simTruthCommand())
	return cmd
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (c *cli) simTruthCommand() *cobra.Command {
	var (
		sf       simFlags
		sel      selectorFlags
		from, to string
		at       string
		depth    int
	)
	cmd := &cobra.Command{
		Use:   "truth",
		Short: "Print the simulator's ground truth (JSON lines) without starting it",
		Long: `Print what the simulator serves — every trade, every candle, or the book at
an instant — for the market of --seed, --now and --history, as JSON lines.
Use the values pype sim printed at start to compare its answers with what a
client collected.`,
		Example: `  pype sim truth --seed 1 --now 2024-06-01T00:00:00Z --venue binance --symbol BTC/USDT --type trades --from 2024-05-31 --to 2024-05-31T00:10:00Z
  pype sim truth --seed 1 --now 2024-06-01T00:00:00Z --venue binance --symbol BTC/USDT --type ohlc --span 1h --from 2024-05-31
  pype sim truth --seed 1 --now 2024-06-01T00:00:00Z --venue binance --symbol BTC/USDT --type book --depth 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := sim.Config{Frozen: true}
			if sf.now == "" {
				return usagef("--now is required: the market depends on it (use the value pype sim printed)")
			}
			if err := sf.apply(&cfg, time.Time{}); err != nil {
				return err
			}
			if sel.venue == "" {
				return usagef("--venue is required")
			}
			sym, err := domain.ParseSymbol(sel.symbol)
			if sel.symbol == "" {
				return usagef("--symbol is required")
			}
			if err != nil {
				return err
			}
			typ, err := parseTypeFlag(sel.typ, domain.Trades, domain.OHLC, domain.Book)
			if err != nil {
				return err
			}
			span, err := parseSpanFlag(typ, sel.span)
			if err != nil {
				return err
			}
			q := sim.TruthQuery{Venue: strings.ToLower(sel.venue), Symbol: sym.String(), Kind: map[domain.DataType]string{domain.Trades: "trades", domain.OHLC: "candles", domain.Book: "book"}[typ],
				Span: span, Depth: depth}
			if from != "" || to != "" {
				rng, err := parseRangeFlags(from, to, cfg.Now, true)
				if err != nil {
					return err
				}
				q.From, q.To = domain.Time(rng.Start), domain.Time(rng.End)
			}
			if at != "" {
				ns, err := domain.ParseTime(at)
				if err != nil {
					return fmt.Errorf("--at: %w", err)
				}
				q.At = domain.Time(ns)
			}
			return simvenues.QueryTruth(cmd.Context(), cfg, q, c.stdout)
		},
	}
	sf.register(cmd)
	sel.register(cmd.Flags(), "trades, ohlc or book")
	cmd.Flags().StringVar(&from, "from", "", "start (default: start of the history)")
	cmd.Flags().StringVar(&to, "to", "", "end (default: now)")
	cmd.Flags().StringVar(&at, "at", "", "book: the instant (default now)")
	cmd.Flags().IntVar(&depth, "depth", 0, "book: levels per side (0 = all)")
	return cmd
}
