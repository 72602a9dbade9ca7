using Microsoft.ML;

namespace Pipelines.Estimators.Tests.Sweeps;

[TestClass]
public sealed class SweepExperimentTests
{
    // ML.NET's own SDCA on bag-of-words features: fast, and its log-loss moves with both parameters.
    public sealed class SdcaParameters
    {
        [Range(1e-4, 10, logBase: true)] public float L2 { get; set; } = 0.1f;
        [Choice("ok", "broken")] public string Mode { get; set; } = "ok";
        public int Iterations { get; set; } = 9;
    }

    private static readonly List<SyntheticMail.Mail> Mails = Noisy(SyntheticMail.Make(300, seed: 1));

    // Flip one label in six, so no setting is perfect and the log-loss tells settings apart.
    private static List<SyntheticMail.Mail> Noisy(List<SyntheticMail.Mail> mails)
    {
        for (var i = 0; i < mails.Count; i += 6) mails[i].Label = !mails[i].Label;
        return mails;
    }

    private static int _fits;

    private static IEstimator<ITransformer> Sdca(MLContext ml, SdcaParameters p)
    {
        Interlocked.Increment(ref _fits);
        if (p.Mode == "broken") throw new InvalidOperationException("this configuration cannot be built");
        return ml.Transforms.Text.FeaturizeText("Features", "Text")
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(l2Regularization: p.L2, maximumNumberOfIterations: p.Iterations));
    }

    private static SweepOptions Options(string? results = null, int maxTrials = int.MaxValue) => new()
    {
        Metric = (ml, scored) => ml.BinaryClassification.Evaluate(scored).LogLoss, MetricName = "log-loss", Maximize = false,
        BudgetProperty = nameof(SdcaParameters.Iterations), MaxBudget = 9, Seed = 5, ResultsPath = results, MaxTrials = maxTrials,
        IncludeDefaults = true, RefitBest = false,
    };

    [TestMethod]
    public void AMetricNamingAMissingColumnStopsTheSweepAtTheFirstTrial()
    {
        var ml = new MLContext(seed: 1);
        var trials = 0;
        var options = new SweepOptions
        {
            Metric = SweepMetrics.BinaryAuc(labelColumnName: "IsSpam"), MetricName = "AUC", BudgetProperty = nameof(SdcaParameters.Iterations),
            MaxBudget = 9, Seed = 5, IncludeDefaults = true, RefitBest = false,
        };
        var sweep = ml.CreateSweep<SdcaParameters>((context, p) => { trials++; return Sdca(context, new SdcaParameters { L2 = p.L2, Iterations = p.Iterations }); }, options);
        var error = Assert.Throws<InvalidOperationException>(() => sweep.Run(ml.Data.LoadFromEnumerable(Mails), SweepTuner.Random(8)));
        StringAssert.Contains(error.Message, "IsSpam");
        StringAssert.Contains(error.Message, "every trial would fail");
        Assert.AreEqual(1, trials, "one trial, not nine");
    }

    [TestMethod]
    public void RandomSearchRecordsFailuresGoesOnAndIsDeterministic()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Mails);
        var first = ml.CreateSweep<SdcaParameters>(Sdca, Options()).Run(data, SweepTuner.Random(8));
        var second = ml.CreateSweep<SdcaParameters>(Sdca, Options()).Run(data, SweepTuner.Random(8));

        Assert.HasCount(9, first.Trials);                                    // defaults + 8
        var failed = first.Trials.Where(t => !t.Succeeded).ToList();
        Assert.IsTrue(failed.Count > 0 && failed.All(t => t.Parameters["Mode"] == "broken" && t.Error!.Contains("cannot be built")));
        Assert.IsTrue(first.Trials.Where(t => t.Parameters["Mode"] == "ok").All(t => t.Succeeded));
        Assert.AreEqual(first.Trials.Where(t => t.Succeeded).Min(t => t.Metric), first.Best!.Metric, "minimised");
        Assert.IsLessThanOrEqualTo(first.Trials[0].Metric, first.Best.Metric, "at least as good as the defaults (trial 0)");
        CollectionAssert.AreEqual(first.Trials.Select(t => $"{t.Key} {t.Metric:R}").ToList(), second.Trials.Select(t => $"{t.Key} {t.Metric:R}").ToList());
        StringAssert.Contains(first.Leaderboard(), "failed: InvalidOperationException");
    }

    [TestMethod]
    public void SuccessiveHalvingSpendsAThirdOfRandomSearchsBudgetOnTheSameConfigurations()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Mails);
        var halving = ml.CreateSweep<SdcaParameters>(Sdca, Options()).Run(data, SweepTuner.SuccessiveHalving(9, minBudget: 1, eta: 3));
        var random = ml.CreateSweep<SdcaParameters>(Sdca, Options()).Run(data, SweepTuner.Random(9));

        // Rungs: 9 configurations x 1, the best 3 x 3, the best 1 x 9 (plus the defaults at 9 in both).
        CollectionAssert.AreEqual(new[] { 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 9 }, halving.Trials.Select(t => t.Budget).ToArray());
        Assert.AreEqual(9 + 9 * 1 + 3 * 3 + 1 * 9, halving.TotalBudget);
        Assert.AreEqual(9 + 81, random.TotalBudget);
        var sampled = halving.Trials.Skip(1).Take(9).Select(t => string.Join(",", t.Parameters.Values)).ToList();
        CollectionAssert.AreEqual(random.Trials.Skip(1).Select(t => string.Join(",", t.Parameters.Values)).ToList(), sampled, "the same configurations");
        Assert.AreEqual(9, halving.Best!.Budget);
    }

    [TestMethod]
    public void AnInterruptedSweepResumesFromItsResultsFileWithoutRepeatingTrials()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Mails);
        var path = Path.Combine(Path.GetTempPath(), $"sweep-{Guid.NewGuid():N}.json");
        try
        {
            var partial = ml.CreateSweep<SdcaParameters>(Sdca, Options(path, maxTrials: 3)).Run(data, SweepTuner.Random(6));
            Assert.HasCount(3, partial.Trials);
            Assert.IsTrue(File.Exists(Path.ChangeExtension(path, ".csv")));
            var before = _fits;
            var resumed = ml.CreateSweep<SdcaParameters>(Sdca, Options(path)).Run(data, SweepTuner.Random(6));
            Assert.AreEqual(4, _fits - before, "only the 4 trials not in the file were run");
            var uninterrupted = ml.CreateSweep<SdcaParameters>(Sdca, Options()).Run(data, SweepTuner.Random(6));
            CollectionAssert.AreEqual(uninterrupted.Trials.Select(t => $"{t.Key} {t.Metric:R}").ToList(), resumed.Trials.Select(t => $"{t.Key} {t.Metric:R}").ToList());
        }
        finally
        {
            File.Delete(path);
            File.Delete(Path.ChangeExtension(path, ".csv"));
        }
    }

    public sealed class ClassifierParameters
    {
        [Range(3e-4, 1e-2, logBase: true)] public double LearningRate { get; set; } = 1e-4;
        [Choice(2, 8)] public int LoraRank { get; set; } = 8;
        public int Epochs { get; set; } = 4;
    }

    [TestMethod]
    public void TransformerClassifierSweepCountsStepsAndItsBestZipPredicts()
    {
        var ml = new MLContext(seed: 1);
        var mails = SyntheticMail.Make(240, seed: 3);
        var tokenizer = SyntheticMail.Tokenizer(mails);
        var data = ml.Data.LoadFromEnumerable(mails);
        IEstimator<ITransformer> Pipeline(MLContext ctx, ClassifierParameters p) =>
            ctx.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 24)
                .Append(ctx.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
                {
                    Tokenizer = tokenizer, Layers = 1, Hidden = 32, Heads = 2, MaxLength = 24, BatchSize = 16, Dropout = 0,
                    LearningRate = p.LearningRate, LoraRank = p.LoraRank, MaxEpoch = p.Epochs, Device = TestDevice.Option, ValidationFraction = 0,
                }));
        var zip = Path.Combine(Path.GetTempPath(), $"sweep-best-{Guid.NewGuid():N}.zip");
        try
        {
            var options = new SweepOptions
            {
                Metric = SweepMetrics.BinaryAuc(), MetricName = "AUC", BudgetProperty = nameof(ClassifierParameters.Epochs), MaxBudget = 4,
                IncludeDefaults = true, ModelPath = zip, Seed = 2,
            };
            var result = ml.CreateSweep<ClassifierParameters>(Pipeline, options).Run(data, SweepTuner.SuccessiveHalving(4, minBudget: 1, eta: 2));
            // 192 training rows in batches of 16: 12 steps an epoch.
            foreach (var trial in result.Trials) Assert.AreEqual(12L * trial.Budget, trial.Steps, $"trial {trial.Id}");
            Assert.IsGreaterThanOrEqualTo(result.Trials[0].Metric, result.Best!.Metric, "at least as good as the defaults");
            var loaded = new MLContext().Model.Load(zip, out _);
            var auc = ml.BinaryClassification.Evaluate(loaded.Transform(ml.Data.LoadFromEnumerable(SyntheticMail.Make(80, seed: 4)))).AreaUnderRocCurve;
            Assert.IsGreaterThan(0.9, auc);
        }
        finally { File.Delete(zip); }
    }
}
