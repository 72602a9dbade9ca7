using System.Diagnostics;
using Microsoft.ML;
using Pipelines.Examples.Common;
using Pipelines.Models;
using Pipelines.Models.Training;
using Pipelines.Reference;
using static TorchSharp.torch;

namespace Pipelines.Benchmarks;

/// <summary>
/// nanoGPT's Shakespeare-character CPU recipe, side by side, seed by seed: (a) train.py replayed in
/// TorchSharp with nanoGPT's own random stream (<see cref="NanoGptReplica"/>; with seed 1337 it
/// prints nanoGPT's published log), (b) our ML.NET causal-LM estimator with the same recipe. Each
/// is scored twice: its own 20-batch estimate (what train.py and the estimator print) and the
/// loss over the whole validation split (1,742 windows of 64), which the 20 batches estimate.
///   nanogpt-replica [--seeds=1337,1,2,3,4] [--iters=2000] [--replica-only] [--unused-ids=0]
///   nanogpt-replica --through-loop [--loop-steps=600]   (train.py's loop vs our TrainingLoop on the same batches)
/// </summary>
public static class NanoGptReplicaBenchmark
{
    private sealed class Document
    {
        public string Text { get; set; } = "";
    }

    private sealed record SeedResult(int Seed, double ReplicaEstimate, double ReplicaWhole, double ReplicaSeconds,
        double OursEstimate, double OursWhole, double OursSeconds);

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var text = File.ReadAllText(DataFiles.Find("data/tinyshakespeare/input.txt") ?? throw new FileNotFoundException("data/tinyshakespeare/input.txt"));
        if (args.Contains("--through-loop")) return ThroughLoop(text, int.Parse(Arg("loop-steps") ?? "600"));
        var seeds = (Arg("seeds") ?? "1337,1,2,3,4").Split(',').Select(int.Parse).ToList();
        var iters = int.Parse(Arg("iters") ?? "2000");
        var unused = int.Parse(Arg("unused-ids") ?? "0");
        var replicaOnly = args.Contains("--replica-only");
        Console.WriteLine($"nanoGPT's recipe, {iters} iterations, seeds {string.Join(", ", seeds)}, {get_num_threads()} threads");

        var (_, val, _) = NanoGptReplica.Prepare(text);
        var rows = new List<SeedResult>();
        foreach (var seed in seeds)
        {
            var settings = new NanoGptReplica.Settings { Seed = seed, MaxIters = iters, LrDecayIters = iters, UnusedIds = unused };
            var replica = NanoGptReplica.Run(text, settings, keepModel: true, log: line => { if (line.StartsWith("step")) Console.WriteLine("  train.py replica " + line); });
            double replicaWhole;
            using (var model = replica.Model!) replicaWhole = WholeSplitLoss(model, val);
            var (estimate, whole, seconds) = replicaOnly ? (double.NaN, double.NaN, double.NaN) : Estimator(text, seed, iters);
            var row = new SeedResult(seed, replica.Evaluations[^1].ValLoss, replicaWhole, replica.Elapsed.TotalSeconds, estimate, whole, seconds);
            rows.Add(row);
            Console.WriteLine($"seed {seed}: train.py replica {row.ReplicaEstimate:F4} (whole split {row.ReplicaWhole:F4}, {row.ReplicaSeconds:F0} s); " +
                              $"ML.NET estimator {row.OursEstimate:F4} (whole split {row.OursWhole:F4}, {row.OursSeconds:F0} s)");
        }
        static string Stats(IEnumerable<double> values) => $"mean {values.Average():F4} (min {values.Min():F4}, max {values.Max():F4})";
        Console.WriteLine($"train.py replica, 20-batch estimate: {Stats(rows.Select(r => r.ReplicaEstimate))}; whole split: {Stats(rows.Select(r => r.ReplicaWhole))}");
        if (!replicaOnly)
        {
            Console.WriteLine($"ML.NET estimator, 20-batch estimate: {Stats(rows.Select(r => r.OursEstimate))}; whole split: {Stats(rows.Select(r => r.OursWhole))}");
            Console.WriteLine($"estimator - replica, whole split, mean over seeds: {rows.Average(r => r.OursWhole - r.ReplicaWhole):+0.0000;-0.0000}");
        }
        return 0;
    }

    // The example's pipeline (examples/ShakespeareGpt) with nanoGPT's settings.
    private static (double Estimate, double Whole, double Seconds) Estimator(string text, int seed, int steps)
    {
        var clock = Stopwatch.StartNew();
        var ml = new MLContext(seed: seed);
        var vocabulary = CharacterVocabulary.Build([text]);
        var tokenizer = TextTokenizer.FromCharacters(vocabulary);
        var data = ml.Data.LoadFromEnumerable(new[] { new Document { Text = text } });
        var pipeline = ml.Transforms.Text.TokenizeSubwords(tokenizer, new TokenizeSubwordsOptions { MaxLength = int.MaxValue, AddSpecialTokens = false })
            .Append(ml.Pretraining.CausalLanguageModel(new CausalLanguageModelOptions
            {
                Tokenizer = tokenizer, Layers = 4, Heads = 4, Hidden = 128, BlockSize = 64, BatchSize = 12, Dropout = 0, Activation = Activation.Gelu,
                Bias = false, MaxSteps = steps, LearningRate = 1e-3, FinalLearningRateRatio = 0.1, WarmupSteps = 100, Schedule = DecayShape.Cosine,
                Beta2 = 0.99, WeightDecay = 0.1, GradientClipNorm = 1.0, ValidationFraction = 0.1, ValidationBatches = 20, EvaluateEvery = steps,
                Device = "cpu", Seed = seed,
            }));
        var fitted = pipeline.Fit(data);
        var seconds = clock.Elapsed.TotalSeconds;
        using var lm = fitted.LastTransformer;
        var ids = vocabulary.Encode(text).Select(i => (long)i).ToArray();
        var val = ids[(int)(ids.Length * 0.9)..];
        return (lm.Training!.Validations[^1].Loss, WholeSplitLoss(lm.Model, val), seconds);
    }

    // Mean next-token loss over every non-overlapping window of 64 tokens of the split.
    private static double WholeSplitLoss(GptLanguageModel model, long[] split, int block = 64, int batch = 12)
    {
        using var _ = no_grad();
        model.eval();
        using var stream = tensor(split);
        var starts = Enumerable.Range(0, (split.Length - 1) / block).Select(i => (long)i * block).ToArray();
        double sum = 0;
        foreach (var chunk in starts.Chunk(batch))
        {
            using var scope = NewDisposeScope();
            var (x, y) = CausalLanguageModelingTask.Windows(stream, tensor(chunk), block);
            sum += GptLanguageModel.Loss(model.forward(x), y).item<float>() * chunk.Length;
        }
        return sum / starts.Length;
    }

    // The same initial weights and the same batches, once through train.py's loop and once through
    // our TrainingLoop: only the schedules differ (ours warms up over steps 1..100, train.py's over
    // iterations 0..99 with (it + 1) / 101).
    private static int ThroughLoop(string text, int steps)
    {
        var settings = new NanoGptReplica.Settings();
        var starts = new List<long[]>();
        var replica = NanoGptReplica.Run(text, settings, lastIter: steps - 1, trainingStarts: starts);
        var (train, _, vocab) = NanoGptReplica.Prepare(text);
        using var model = NanoGptReplica.Initial(settings, vocab);
        using var stream = tensor(train);
        var task = new ReplayTask(model, stream, starts);
        var parameters = model.parameters().ToList();
        using var optimizer = Optimizers.AdamW(parameters, 1e-3, 0.1, 0.9, 0.99);
        TrainingLoop.Run(task, optimizer, parameters, new TrainingLoopOptions
        {
            MaxSteps = steps, Schedule = new LearningRateSchedule(DecayShape.Cosine, 100, 2000, 0.1),
            GradientClipNorm = 1.0, EvaluateEvery = 0, ReportEvery = 1, Seed = 1337,
        });
        for (var i = 0; i < steps; i += Math.Max(1, steps / 30))
            Console.WriteLine($"iter {i}: train.py loop {replica.IterLosses[i]:F4}, our TrainingLoop {task.Losses[i]:F4}");
        var gap = Enumerable.Range(0, steps).Average(i => Math.Abs(replica.IterLosses[i] - task.Losses[i]));
        Console.WriteLine($"mean |difference| over {steps} steps: {gap:F4}");
        return 0;
    }

    // Replays train.py's training batches (its evaluation batches are not in the list).
    private sealed class ReplayTask(GptLanguageModel model, Tensor stream, List<long[]> starts) : ITrainingTask
    {
        public List<double> Losses { get; } = [];
        public nn.Module Model => model;
        public long TrainingExamples => stream.shape[0] / 64;
        public ValidationResult? Validate(int step) => null;

        public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
        {
            var (x, y) = CausalLanguageModelingTask.Windows(stream, tensor(starts[(int)draw]), 64);
            var loss = GptLanguageModel.Loss(model.forward(x), y);
            Losses.Add(loss.item<float>());
            return (loss, 12, 12 * 64);
        }
    }
}
