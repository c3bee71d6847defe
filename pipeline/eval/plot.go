package eval

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/multisc/multisc/bindings/atomicfile"
)

// writeFigures draws, for each plotted metric and dataset × channel, the
// metric's mean vs SNR, one curve per method with its 95% CI as error bars
// (none where n < 2), as FIGURE.png and FIGURE.svg. The numbers drawn are
// exactly Points().
func (rep *Report) writeFigures(out string) ([]string, error) {
	type fig struct{ metric, dataset, channel string }
	var order []fig
	curves := map[fig]map[string][]Point{}
	methods := map[fig][]string{}
	for _, p := range rep.Points() {
		f := fig{p.Metric, p.Dataset, p.Channel}
		if curves[f] == nil {
			curves[f] = map[string][]Point{}
			order = append(order, f)
		}
		if !slices.Contains(methods[f], p.Method) {
			methods[f] = append(methods[f], p.Method)
		}
		curves[f][p.Method] = append(curves[f][p.Method], p)
	}
	var written []string
	for _, f := range order {
		label := f.metric
		for _, m := range Metrics {
			if m.Name == f.metric {
				label = m.Label
			}
		}
		p := plot.New()
		p.Title.Text = label + " vs SNR: " + f.dataset + ", " + f.channel
		p.X.Label.Text = "SNR (dB)"
		p.Y.Label.Text = label
		p.Add(plotter.NewGrid())
		// A tick at every SNR of the sweep, when they are few enough to read.
		var snrs []float64
		for _, pts := range curves[f] {
			for _, pt := range pts {
				if !slices.Contains(snrs, pt.SNR) {
					snrs = append(snrs, pt.SNR)
				}
			}
		}
		if len(snrs) <= 12 {
			slices.Sort(snrs)
			ticks := make([]plot.Tick, len(snrs))
			for i, x := range snrs {
				ticks[i] = plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'g', -1, 64)}
			}
			p.X.Tick.Marker = plot.ConstantTicks(ticks)
		}
		for i, m := range methods[f] {
			pts := curves[f][m]
			xys := make(plotter.XYs, len(pts))
			errs := make(plotter.YErrors, len(pts))
			for j, pt := range pts {
				xys[j] = plotter.XY{X: pt.SNR, Y: pt.Mean}
				if pt.N >= 2 {
					errs[j].Low, errs[j].High = pt.CI95, pt.CI95
				}
			}
			line, marks, err := plotter.NewLinePoints(xys)
			if err != nil {
				return written, err
			}
			c := plotutil.Color(i)
			line.Color, line.Width = c, vg.Points(1.5)
			line.Dashes = plotutil.Dashes(i)
			marks.Color, marks.Shape = c, plotutil.Shape(i)
			bars := &plotter.YErrorBars{XYs: xys, YErrors: errs, LineStyle: plotter.DefaultLineStyle, CapWidth: plotter.DefaultCapWidth}
			bars.LineStyle.Color = c
			p.Add(line, marks, bars)
			p.Legend.Add(m, line, marks)
		}
		p.Legend.Top = f.metric == "lpips" // the corner the curves leave free: LPIPS falls with SNR, cosine rises
		p.Legend.Left = false
		for _, ext := range []string{"png", "svg"} {
			wt, err := p.WriterTo(6*vg.Inch, 4.5*vg.Inch, ext)
			if err != nil {
				return written, err
			}
			path := filepath.Join(out, FigureName(f.metric, f.dataset, f.channel)+"."+ext)
			if err := atomicfile.Write(path, 0o644, func(fl *os.File) error { _, err := wt.WriteTo(fl); return err }); err != nil {
				return written, err
			}
			written = append(written, path)
		}
	}
	return written, nil
}
