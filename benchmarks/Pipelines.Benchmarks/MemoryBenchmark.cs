using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Examples.Common;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Benchmarks;

/// <summary>
/// Memory over long runs: a 10,000-step causal-LM pretraining through the ML.NET estimator, then
/// 100,000 rows scored (embedding + perplexity) by the model loaded back from its zip. Prints the
/// process's resident memory (native memory included), the managed heap and TorchSharp's live
/// tensor count at regular points, and the growth from the end of warm-up to the end.
///   memory [--steps=10000] [--rows=100000] [--out=runs/memory]
/// </summary>
public static class MemoryBenchmark
{
    private sealed class Line
    {
        public string Text { get; set; } = "";
    }

    private sealed record Sample(string Phase, long At, double RssMiB, double ManagedMiB, long LiveTensors);

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var steps = int.Parse(Arg("steps") ?? "10000");
        var rows = int.Parse(Arg("rows") ?? "100000");
        var output = Arg("out") ?? Path.Combine("runs", "memory");
        var text = File.ReadAllText(DataFiles.Find("data/tinyshakespeare/input.txt") ?? throw new FileNotFoundException("data/tinyshakespeare/input.txt"));
        var tokenizer = TextTokenizer.FromCharacters(CharacterVocabulary.Build([text]));
        var samples = new List<Sample>();
        var process = Process.GetCurrentProcess();
        Sample Measure(string phase, long at)
        {
            process.Refresh();
            return new Sample(phase, at, process.WorkingSet64 / 1048576.0, GC.GetTotalMemory(forceFullCollection: false) / 1048576.0,
                DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }

        // Training: sample every steps/10 optimizer steps.
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new Line { Text = text } });
        var every = Math.Max(1, steps / 10);
        var clock = Stopwatch.StartNew();
        var model = ml.Transforms.Text.TokenizeSubwords(tokenizer, new TokenizeSubwordsOptions { MaxLength = int.MaxValue, AddSpecialTokens = false })
            .Append(ml.Pretraining.CausalLanguageModel(new CausalLanguageModelOptions
            {
                Tokenizer = tokenizer, Layers = 2, Hidden = 64, Heads = 4, BlockSize = 64, BatchSize = 8, MaxSteps = steps,
                WarmupSteps = 100, LearningRate = 1e-3, EvaluateEvery = 1000, ValidationBatches = 4, Device = "cpu", Seed = 1,
                Progress = new OnStep(p => { if (p.Step % every == 0) samples.Add(Measure("training", p.Step)); }),
            }))
            .Fit(data);
        var trainingSeconds = clock.Elapsed.TotalSeconds;
        Directory.CreateDirectory(output);
        var zip = Path.Combine(output, "clm.zip");
        ml.Model.SaveAtomically(model, data.Schema, zip);
        (model as IDisposable)?.Dispose();

        // Inference: a new context loads the zip and scores a stream of rows (never held in memory at once).
        var inference = new MLContext(seed: 2);
        var loaded = inference.Model.Load(zip, out _);
        IEnumerable<Line> Stream()
        {
            for (var i = 0; i < rows; i++)
            {
                var start = (int)((long)i * 7919 % (text.Length - 200));
                yield return new Line { Text = text.Substring(start, 200) };
            }
        }
        var scored = loaded.Transform(inference.Data.LoadFromEnumerable(Stream()));
        var rowEvery = Math.Max(1, rows / 10);
        clock.Restart();
        double perplexitySum = 0;
        using (var cursor = scored.GetRowCursor(scored.Schema.Where(c => c.Name is "Embedding" or "Perplexity")))
        {
            var embedding = cursor.GetGetter<VBuffer<float>>(scored.Schema["Embedding"]);
            var perplexity = cursor.GetGetter<float>(scored.Schema["Perplexity"]);
            VBuffer<float> vector = default;
            float value = 0;
            long row = 0;
            while (cursor.MoveNext())
            {
                embedding(ref vector);
                perplexity(ref value);
                perplexitySum += value;
                if (++row % rowEvery == 0) samples.Add(Measure("inference", row));
            }
        }
        var inferenceSeconds = clock.Elapsed.TotalSeconds;

        Console.WriteLine($"causal LM 2x64, block 64, batch 8: {steps:N0} training steps in {trainingSeconds:F0} s; {rows:N0} rows scored from the zip in {inferenceSeconds:F0} s (mean perplexity {perplexitySum / rows:F2})");
        Console.WriteLine($"{"phase",-10} {"at",8} {"RSS MiB",8} {"managed MiB",12} {"live tensors",13}");
        foreach (var s in samples) Console.WriteLine($"{s.Phase,-10} {s.At,8:N0} {s.RssMiB,8:F0} {s.ManagedMiB,12:F1} {s.LiveTensors,13}");
        foreach (var phase in new[] { "training", "inference" })
        {
            var list = samples.Where(s => s.Phase == phase).ToList();
            if (list.Count < 3) continue;
            var warm = list[1]; // the first sample is still warm-up
            var after = list.Skip(1).ToList();
            Console.WriteLine($"{phase}: RSS {warm.RssMiB:F0} MiB at {warm.At:N0} -> {list[^1].RssMiB:F0} MiB at {list[^1].At:N0} " +
                              $"({list[^1].RssMiB - warm.RssMiB:+0;-0} MiB; range after warm-up {after.Min(s => s.RssMiB):F0}-{after.Max(s => s.RssMiB):F0}); " +
                              $"live tensors {warm.LiveTensors} -> {list[^1].LiveTensors}");
        }
        return 0;
    }

    /// <summary>Calls back on the training thread, in order (System.Progress would post to the thread pool).</summary>
    private sealed class OnStep(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
