using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// Downstream F1 against pretraining minutes on SpamAssassin, for masked-LM and ELECTRA's replaced-token
/// detection: each budget (objective and steps) is pretrained once (vocabulary included in its minutes), then
/// fine-tuned with 1 % and 10 % of the labels, 3 seeds each, with the label-efficiency recipe; the same model from
/// scratch is the 0-minute point. Writes results.csv and f1-by-pretraining-minutes.png.
///   pretraining-budget [--budgets=mlm:500,mlm:1500,electra:400,electra:1200 (objective[+preln][+nodropout]:steps[:learning rate];
///     preln: pre-layer-norm blocks, nodropout: no dropout while pretraining, as budget-BERT recipes)] [--fractions=0.01,0.1] [--seeds=3]
///     [--chunk-words=0] [--lr=1e-3 (pretraining)] [--merge=earlier/results.csv (plot and tabulate an earlier run's points too;
///     with --budgets= alone, only redraws)] [--out=runs/pretraining-budget]
/// </summary>
public static class PretrainingBudget
{
    private sealed record Point(string Objective, int Steps, double Minutes, double Fraction, int Seed, double F1, double Auc);

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var path = Arg("data") ?? SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz not found");
        var output = Arg("out") ?? Path.Combine("runs", "pretraining-budget");
        // objective:steps[:learning rate]; a learning rate other than --lr's names its own curve.
        var budgets = (Arg("budgets") ?? "mlm:500,mlm:1500,electra:400,electra:1200").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(b => b.Split(':')).Select(b => (Objective: b[0], Steps: int.Parse(b[1], CultureInfo.InvariantCulture),
                LearningRate: b.Length > 2 ? double.Parse(b[2], CultureInfo.InvariantCulture) : (double?)null)).ToList();
        var options = new LabelEfficiencyOptions
        {
            Seeds = Enumerable.Range(1, int.Parse(Arg("seeds") ?? "3")).ToArray(),
            Fractions = (Arg("fractions") ?? "0.01,0.1").Split(',').Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray(),
            PretrainChunkWords = int.Parse(Arg("chunk-words") ?? "0"),
            PretrainLearningRate = double.Parse(Arg("lr") ?? "1e-3", CultureInfo.InvariantCulture),
        };
        var (train, test) = SpamAssassin.Load(path);
        var ml = new MLContext(seed: 1);
        var testData = ml.Data.LoadFromEnumerable(test);
        var points = Arg("merge") is { } merge ? Read(merge) : [];
        var scratchDone = points.Any(p => p.Objective == "scratch");
        void Add(Point point)
        {
            points.Add(point);
            Console.WriteLine($"  {point.Objective,-16} {point.Steps,5} steps {point.Minutes,5:F1} min  {point.Fraction,4:P0} seed {point.Seed}  F1 {point.F1:F3}  AUC {point.Auc:F3}");
        }
        LabelEfficiency.Pretrained? any = null;
        foreach (var (kind, steps, learningRate) in budgets)
        {
            var objective = learningRate is double own ? $"{kind} lr {own.ToString(CultureInfo.InvariantCulture)}" : kind;
            var pretrained = TrainingDisplay.Run($"{objective} pretraining, {steps} steps", progress => LabelEfficiency.Pretrain(ml, train, options with
            {
                PretrainSteps = steps, Progress = progress, PretrainLearningRate = learningRate ?? options.PretrainLearningRate,
                Objective = kind.StartsWith("electra") ? EncoderObjective.ReplacedTokenDetection : EncoderObjective.MaskedLanguageModel,
                PretrainPreLayerNorm = kind.Contains("+preln"), PretrainDropout = kind.Contains("+nodropout") ? 0 : options.PretrainDropout,
            }));
            Console.WriteLine($"{objective} {steps} steps: {pretrained.Elapsed.TotalMinutes:F1} min, vocabulary included");
            foreach (var (fraction, seed, labelled) in Samples(train, options))
            {
                var (f1, auc) = LabelEfficiency.FineTune(ml, pretrained, ml.Data.LoadFromEnumerable(labelled), testData, labelled.Count, seed, options, fromPretrained: true);
                Add(new Point(objective, steps, pretrained.Elapsed.TotalMinutes, fraction, seed, f1, auc));
            }
            any ??= pretrained;
        }
        if (any is null && !scratchDone) throw new ArgumentException("No budget to pretrain: give --budgets.");
        // From scratch: the 0-minute point both curves start from (the tokenizer is the same for every budget).
        foreach (var (fraction, seed, labelled) in scratchDone ? [] : Samples(train, options))
        {
            var (f1, auc) = LabelEfficiency.FineTune(ml, any!, ml.Data.LoadFromEnumerable(labelled), testData, labelled.Count, seed, options, fromPretrained: false);
            Add(new Point("scratch", 0, 0, fraction, seed, f1, auc));
        }
        Directory.CreateDirectory(output);
        File.WriteAllLines(Path.Combine(output, "results.csv"),
            ["objective,steps,minutes,fraction,seed,f1,auc", .. points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Objective},{p.Steps},{p.Minutes:F2},{p.Fraction},{p.Seed},{p.F1:F4},{p.Auc:F4}"))]);
        Console.WriteLine();
        Console.WriteLine("| objective | steps | pretraining min | labels | F1 (mean ± sd) | AUC (mean ± sd) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var group in points.GroupBy(p => (p.Objective, p.Steps, p.Fraction)).OrderBy(g => g.Key.Fraction).ThenBy(g => g.Key.Objective).ThenBy(g => g.Key.Steps))
            Console.WriteLine($"| {group.Key.Objective} | {group.Key.Steps} | {group.First().Minutes:F1} | {group.Key.Fraction:P0} | " +
                              $"{LabelEfficiency.MeanSd(group.Select(p => p.F1).ToArray())} | {LabelEfficiency.MeanSd(group.Select(p => p.Auc).ToArray())} |");
        Console.WriteLine($"plot: {Plot(points, options.Fractions, output)}");
        return 0;
    }

    private static List<Point> Read(string csv) =>
        File.ReadLines(csv).Skip(1).Select(line => line.Split(',')).Select(f => new Point(f[0], int.Parse(f[1], CultureInfo.InvariantCulture),
            double.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture),
            double.Parse(f[5], CultureInfo.InvariantCulture), double.Parse(f[6], CultureInfo.InvariantCulture))).ToList();

    private static IEnumerable<(double Fraction, int Seed, List<Email> Labelled)> Samples(List<Email> train, LabelEfficiencyOptions options) =>
        from fraction in options.Fractions from seed in options.Seeds select (fraction, seed, LabelEfficiency.Sample(train, fraction, seed));

    // Mean F1 over seeds against pretraining minutes: one line per objective and label fraction, all starting at scratch (0 min).
    private static string Plot(List<Point> points, double[] fractions, string directory)
    {
        var plot = new ScottPlot.Plot();
        foreach (var fraction in fractions)
            foreach (var objective in points.Select(p => p.Objective).Where(o => o != "scratch").Distinct())
            {
                var line = points.Where(p => p.Fraction == fraction && (p.Objective == objective || p.Objective == "scratch"))
                    .GroupBy(p => p.Steps).Select(g => (Minutes: g.Average(p => p.Minutes), F1: g.Average(p => p.F1))).OrderBy(p => p.Minutes).ToArray();
                var scatter = plot.Add.Scatter(line.Select(p => p.Minutes).ToArray(), line.Select(p => p.F1).ToArray());
                scatter.LegendText = $"{objective.Replace("electra", "ELECTRA").Replace("mlm", "masked-LM")}, {fraction:P0} of the labels";
                scatter.LineWidth = 2;
                scatter.MarkerSize = 8;
            }
        plot.Title("SpamAssassin: F1 after fine-tuning vs pretraining minutes (mean of 3 seeds)");
        plot.XLabel("pretraining minutes, vocabulary included (0: from scratch)");
        plot.YLabel("test F1");
        plot.ShowLegend();
        var png = Path.Combine(directory, "f1-by-pretraining-minutes.png");
        plot.SavePng(png, 900, 540);
        return png;
    }
}
