using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Pipelines.Examples.Common;
using Pipelines.Models;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>;

namespace Pipelines.Benchmarks;

/// <summary>
/// Scoring speed on SpamAssassin's test mails, side by side in one run, for a classifier of the
/// default size (4 x 256, 128 tokens):
/// - model.Transform + evaluation (batched) against the one-row path (what PredictionEngine runs,
///   and what Transform ran before batching) and against a bare TorchSharp loop over the same
///   pre-tokenized rows in the same length-sorted batches of 32;
/// - ONNX Runtime against TorchSharp on the same exported network: batched rows/s, and one row at a
///   time (latency p50/p99), bare and through PredictionEngine with tokenization in front;
/// - memory over many scored rows (a 2 x 64 classifier, so that 100,000 rows take a minute).
///   inference-throughput [--rows=100000] [--repeats=3]
/// </summary>
public static class InferenceThroughput
{
    private sealed class Tokenized
    {
        [VectorType] public int[] Tokens { get; set; } = [];
        public bool Label { get; set; }
    }

    private sealed class Prediction
    {
        public float Probability { get; set; }
    }

    private sealed class OnnxPrediction
    {
        [ColumnName("probabilities"), VectorType(2)] public float[] Probabilities { get; set; } = [];
    }

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var memoryRows = int.Parse(Arg("rows") ?? "100000");
        var repeats = int.Parse(Arg("repeats") ?? "3");
        var (train, test) = SpamAssassin.Load(SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz"));
        var tokenizer = WordPieceTrainer.TrainTokenizer(train.Select(m => m.Text), new WordPieceTrainerOptions { VocabularySize = 8000 });
        var ml = new MLContext(seed: 1);
        const int maxLength = 128;
        var rng = new Random(1);
        var labelled = train.OrderBy(_ => rng.Next()).Take(64).ToList(); // the file is sorted by source
        var tokenize = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: maxLength);
        // Throughput does not depend on the weights: one short epoch on 64 labelled mails.
        var chain = tokenize.Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
        {
            Tokenizer = tokenizer, MaxLength = maxLength, MaxEpoch = 1, BatchSize = 16, Device = "cpu", Seed = 1,
        })).Fit(ml.Data.LoadFromEnumerable(labelled));
        var classifier = (TextClassificationTransformer)chain.LastTransformer;
        var testData = ml.Data.LoadFromEnumerable(test);
        var rows = tokenize.Fit(testData).Transform(testData).GetColumn<VBuffer<int>>("Tokens").Select(v => v.DenseValues().ToArray()).ToArray();
        var tokenView = ml.Data.LoadFromEnumerable(rows.Select((r, i) => new Tokenized { Tokens = r, Label = test[i].Label }).ToList());
        Console.WriteLine($"classifier 4 x 256, {maxLength} tokens; {rows.Length} SpamAssassin test mails, {rows.Average(r => r.Length):F0} tokens on average; medians of {repeats} runs");

        // 1. TorchSharp: pipeline batched, one row at a time, bare batched loop.
        var batched = Median(repeats, () => ml.BinaryClassification.Evaluate(classifier.Transform(tokenView)));
        var oneRow = Median(repeats, () => OneRowAtATime(classifier, tokenView));
        var bare = Median(repeats, () => BareTorchSharp(classifier.Model, rows, tokenizer.PadId));
        var endToEnd = Median(repeats, () => ml.BinaryClassification.Evaluate(chain.Transform(testData)));
        Console.WriteLine($"{"TorchSharp, pre-tokenized rows",-52} {"rows/s",8}");
        Console.WriteLine($"{"  model.Transform + Evaluate (batched)",-52} {rows.Length / batched,8:F0}");
        Console.WriteLine($"{"  one row per forward (PredictionEngine's path)",-52} {rows.Length / oneRow,8:F0}   batched / one-row = {oneRow / batched:F2}");
        Console.WriteLine($"{"  bare TorchSharp loop, same batches",-52} {rows.Length / bare,8:F0}   pipeline / bare = {bare / batched:F2}");
        Console.WriteLine($"{"  with tokenization: chain.Transform + Evaluate",-52} {rows.Length / endToEnd,8:F0}");

        // 2. ONNX Runtime against TorchSharp on the same network.
        using var onnxFile = new TemporaryFile("classifier.onnx");
        ml.Model.ExportToOnnx(chain, onnxFile.Path);
        using var session = new InferenceSession(onnxFile.Path);
        var ortBatched = Median(repeats, () => BareOnnx(session, rows, tokenizer.PadId));
        Console.WriteLine($"{"ONNX Runtime, same batches of 32",-52} {rows.Length / ortBatched,8:F0}   ONNX Runtime / TorchSharp (bare) = {bare / ortBatched:F2}");
        var single = rows.Take(300).ToArray();
        var torchLatency = Latencies(single, r => BareTorchSharp(classifier.Model, [r], tokenizer.PadId));
        var ortLatency = Latencies(single, r => BareOnnx(session, [r], tokenizer.PadId));
        Console.WriteLine($"one row, bare forward (ms): TorchSharp p50 {P(torchLatency, 50):F2} p99 {P(torchLatency, 99):F2}; ONNX Runtime p50 {P(ortLatency, 50):F2} p99 {P(ortLatency, 99):F2}");
        var torchEngine = ml.Model.CreatePredictionEngine<Email, Prediction>(chain);
        var onnxChain = tokenize.Append(ml.Transforms.Conversion.ConvertType("input_ids", "Tokens", DataKind.Int64))
            .Append(ml.Transforms.ApplyOnnxModel("probabilities", "input_ids", onnxFile.Path)).Fit(testData);
        var onnxEngine = ml.Model.CreatePredictionEngine<Email, OnnxPrediction>(onnxChain);
        var mails = test.Take(300).ToArray();
        var torchEngineLatency = Latencies(mails, m => torchEngine.Predict(m));
        var onnxEngineLatency = Latencies(mails, m => onnxEngine.Predict(m));
        Console.WriteLine($"PredictionEngine, tokenization included (ms): TorchSharp p50 {P(torchEngineLatency, 50):F2} p99 {P(torchEngineLatency, 99):F2}; " +
                          $"ONNX Runtime p50 {P(onnxEngineLatency, 50):F2} p99 {P(onnxEngineLatency, 99):F2}");
        var disagreements = mails.Count(m => torchEngine.Predict(m).Probability > 0.5f != onnxEngine.Predict(m).Probabilities[1] > 0.5f);
        Console.WriteLine($"labels that differ between the two engines: {disagreements} of {mails.Length}");

        // 3. Memory over many rows, streamed (never held at once) through Transform.
        var small = tokenize.Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
        {
            Tokenizer = tokenizer, Layers = 2, Hidden = 64, MaxLength = 64, MaxEpoch = 1, BatchSize = 16, Device = "cpu", Seed = 1,
        })).Fit(ml.Data.LoadFromEnumerable(labelled));
        IEnumerable<Email> Stream() { for (var i = 0; i < memoryRows; i++) yield return test[i % test.Count]; }
        var scored = small.Transform(ml.Data.LoadFromEnumerable(Stream()));
        var process = Process.GetCurrentProcess();
        var samples = new List<(long Row, double RssMiB, long Tensors)>();
        var clock = Stopwatch.StartNew();
        using (var cursor = scored.GetRowCursor([scored.Schema["Probability"]]))
        {
            var probability = cursor.GetGetter<float>(scored.Schema["Probability"]);
            float value = 0;
            long row = 0;
            while (cursor.MoveNext())
            {
                probability(ref value);
                if (++row % Math.Max(1, memoryRows / 10) != 0) continue;
                process.Refresh();
                samples.Add((row, process.WorkingSet64 / 1048576.0, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount));
            }
        }
        Console.WriteLine($"memory, 2 x 64 classifier, {memoryRows:N0} rows in {clock.Elapsed.TotalSeconds:F0} s: RSS MiB at each tenth " +
                          string.Join(", ", samples.Select(s => $"{s.RssMiB:F0}")) +
                          $"; after warm-up {samples[1].RssMiB:F0} -> {samples[^1].RssMiB:F0} ({samples[^1].RssMiB - samples[1].RssMiB:+0;-0} MiB); live tensors {samples[1].Tensors} -> {samples[^1].Tensors}");
        return 0;
    }

    // Seconds of the median run.
    private static double Median(int repeats, Action run)
    {
        run(); // warm-up
        var times = Enumerable.Range(0, repeats).Select(_ => { var clock = Stopwatch.StartNew(); run(); return clock.Elapsed.TotalSeconds; }).Order().ToArray();
        return times[times.Length / 2];
    }

    private static double[] Latencies<T>(T[] items, Action<T> run)
    {
        run(items[0]);
        return items.Select(item => { var clock = Stopwatch.StartNew(); run(item); return clock.Elapsed.TotalMilliseconds; }).Order().ToArray();
    }

    private static double P(double[] sorted, int percentile) => sorted[Math.Min(sorted.Length - 1, sorted.Length * percentile / 100)];

    private static void OneRowAtATime(ITransformer model, IDataView data)
    {
        var mapper = model.GetRowToRowMapper(data.Schema);
        var output = mapper.OutputSchema["Probability"];
        using var cursor = data.GetRowCursor(data.Schema);
        var row = mapper.GetRow(cursor, [output]);
        var getter = row.GetGetter<float>(output);
        float value = 0;
        while (cursor.MoveNext()) getter(ref value);
    }

    // The batches the pipeline makes: sorted by length, 32 rows, right-padded.
    private static IEnumerable<int[][]> Batches(int[][] rows) => rows.OrderBy(r => r.Length).Chunk(32);

    private static void BareTorchSharp(BertForSequenceClassification model, int[][] rows, int padId)
    {
        using var inference = no_grad();
        foreach (var batch in Batches(rows))
        {
            using var scope = NewDisposeScope();
            var (ids, mask) = Padded(batch, padId);
            var t = tensor(ids, [batch.Length, ids.Length / batch.Length]);
            var m = batch.Any(r => r.Length < ids.Length / batch.Length) ? tensor(mask, [batch.Length, ids.Length / batch.Length]) : null;
            _ = nn.functional.softmax(model.Forward(t, m), -1).cpu().data<float>().ToArray();
        }
    }

    private static void BareOnnx(InferenceSession session, int[][] rows, int padId)
    {
        foreach (var batch in Batches(rows))
        {
            var (ids, _) = Padded(batch, padId);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor(ids, [batch.Length, ids.Length / batch.Length]))]);
            _ = results.Single(r => r.Name == "probabilities").AsTensor<float>().ToArray();
        }
    }

    private static (long[] Ids, long[] Mask) Padded(int[][] batch, long padId)
    {
        var longest = batch.Max(r => r.Length);
        var ids = new long[batch.Length * longest];
        var mask = new long[batch.Length * longest];
        for (var b = 0; b < batch.Length; b++)
            for (var t = 0; t < longest; t++)
                (ids[b * longest + t], mask[b * longest + t]) = t < batch[b].Length ? (batch[b][t], 1L) : (padId, 0L);
        return (ids, mask);
    }

    private sealed class TemporaryFile(string name) : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{Guid.NewGuid():N}-{name}");
        public void Dispose() => File.Delete(Path);
    }
}
