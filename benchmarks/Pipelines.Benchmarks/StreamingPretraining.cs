using System.Diagnostics;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Examples.Common;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Benchmarks;

/// <summary>
/// Masked-LM pretraining on a corpus larger than the in-memory path could hold, read from a text file
/// through ML.NET's lazy TextLoader with Reading = Streamed: resident memory at every report (flat: it
/// must not follow the corpus) and tokens/s; what reading it into memory would take (estimated from a
/// sample: the in-memory path is not run on it); then, on the first rows of the same file (a corpus both
/// hold), the streamed and in-memory paths side by side, alternating (in memory, streamed, ...), for the
/// throughput ratio. The corpus is generated: SpamAssassin's training bodies, one per line, repeated with
/// a line number until the size asked for, in a temporary file deleted at the end.
///   streaming-pretraining [--gigabytes=2] [--steps=1000] [--small-rows=20000] [--small-steps=600] [--rounds=2]
/// </summary>
public static class StreamingPretraining
{
    private const int Length = 128, Batch = 16, Layers = 2, Hidden = 128;

    private sealed class Line
    {
        [LoadColumn(0)] public string Text { get; set; } = "";
    }

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var gigabytes = double.Parse(Arg("gigabytes") ?? "2", System.Globalization.CultureInfo.InvariantCulture);
        int steps = int.Parse(Arg("steps") ?? "1000"), smallRows = int.Parse(Arg("small-rows") ?? "20000");
        int smallSteps = int.Parse(Arg("small-steps") ?? "600"), rounds = int.Parse(Arg("rounds") ?? "2");
        var (train, _) = SpamAssassin.Load(SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz"));
        // Lines of about 500 characters (about one 128-token sequence each), so that nothing is cut away.
        var bodies = train.SelectMany(e => Chunks(OneLine(e.Text), 500)).ToList();
        var tokenizer = WordPieceTrainer.TrainTokenizer(bodies, new WordPieceTrainerOptions { VocabularySize = 8000 });
        var path = Path.Combine(Path.GetTempPath(), $"streaming-corpus-{Guid.NewGuid():N}.txt");
        try
        {
            var clock = Stopwatch.StartNew();
            var (lines, bytes) = Generate(path, bodies, (long)(gigabytes * (1L << 30)));
            Console.WriteLine($"Corpus: {bytes / (double)(1L << 30):F2} GiB, {lines:N0} lines (generated in {clock.Elapsed.TotalSeconds:F0} s); " +
                              $"WordPiece {tokenizer.VocabSize:N0}; encoder {Layers}x{Hidden}, length {Length}, batch {Batch}; {torch.get_num_threads()} threads");
            InMemoryNeeds(tokenizer, bodies, lines);

            var ml = new MLContext(seed: 1);
            var file = ml.Data.LoadFromTextFile<Line>(path, separatorChar: '\t', allowQuoting: false);
            var tokens = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: Length).Fit(file).Transform(file);

            var memory = new List<(int Step, long Rss, long Heap, long Tensors)>();
            var big = Fit(ml, tokens, tokenizer, CorpusReading.Streamed, steps, memory);
            Console.WriteLine($"Streamed over the whole corpus, {steps} steps: {big.Loop:N0} tokens/s in the training loop; resident memory by step:");
            var every = Math.Max(1, steps / 10);
            Console.WriteLine("  step: resident / managed heap / live tensors");
            foreach (var m in memory.Where(m => m.Step % every == 0 || m.Step == 1))
                Console.WriteLine($"  {m.Step,6}: {m.Rss / (1 << 20),6:N0} MiB / {m.Heap / (1 << 20),5:N0} MiB / {m.Tensors:N0}");
            var half = memory.First(m => m.Step >= steps / 2);
            var warm = half.Rss;
            Console.WriteLine($"  at half the run (step {half.Step}) {warm / (1 << 20):N0} MiB, at the end {memory[^1].Rss / (1 << 20):N0} MiB, " +
                              $"highest {memory.Max(m => m.Rss) / (1 << 20):N0} MiB: {(memory[^1].Rss - warm) / (double)(1 << 20):+0;-0} MiB over the second half");

            var small = ml.Data.TakeRows(tokens, smallRows);
            Fit(ml, small, tokenizer, CorpusReading.InMemory, 5, null);                   // warm-up (JIT)
            var (inMemory, streamed) = (new List<(double Loop, double Fit)>(), new List<(double Loop, double Fit)>());
            for (var round = 0; round < rounds; round++)
            {
                inMemory.Add(Fit(ml, small, tokenizer, CorpusReading.InMemory, smallSteps, null));
                streamed.Add(Fit(ml, small, tokenizer, CorpusReading.Streamed, smallSteps, null));
                Console.WriteLine($"round {round + 1} on the first {smallRows:N0} lines, {smallSteps} steps: in memory {inMemory[^1].Loop:N0} tokens/s in the loop " +
                                  $"({inMemory[^1].Fit:N0} over the whole Fit), streamed {streamed[^1].Loop:N0} ({streamed[^1].Fit:N0})");
            }
            if (rounds > 0)
                Console.WriteLine($"streamed / in memory: {streamed.Sum(s => s.Loop) / inMemory.Sum(s => s.Loop):F3} in the training loop, " +
                              $"{streamed.Sum(s => s.Fit) / inMemory.Sum(s => s.Fit):F3} over the whole Fit (reading included)");
            return 0;
        }
        finally { File.Delete(path); }
    }

    // Tokens/s in the training loop (the last report's) and over the whole Fit.
    private static (double Loop, double Fit) Fit(MLContext ml, IDataView tokens, TextTokenizer tokenizer, CorpusReading reading, int steps,
        List<(int, long, long, long)>? memory)
    {
        var process = Process.GetCurrentProcess();
        var clock = Stopwatch.StartNew();
        using var model = ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
        {
            Tokenizer = tokenizer, Layers = Layers, Hidden = Hidden, Heads = 4, MaxLength = Length, BatchSize = Batch, MaxSteps = steps,
            WarmupSteps = 10, LearningRate = 5e-4, ValidationFraction = 0, EvaluateEvery = 0, Device = "cpu", Seed = 1,
            Reading = reading, LogEvery = 25,
            Progress = memory is null ? null : new Reporter(p => { process.Refresh(); memory.Add((p.Step, process.WorkingSet64, GC.GetGCMemoryInfo().HeapSizeBytes, DisposeScopeManager.Statistics.ThreadTotalLiveCount)); }),
        }).Fit(tokens);
        var seconds = clock.Elapsed.TotalSeconds;
        var last = model.Training!.Reports[^1];
        return (last.TokensPerSecond, last.TokensPerSecond * last.Elapsed.TotalSeconds / seconds);
    }

    // What the in-memory path would hold: each row's ids as an int[] (its length x 4 bytes and about 24 bytes
    // of array header) and a reference in the list, from the tokens per line of a sample.
    private static void InMemoryNeeds(TextTokenizer tokenizer, List<string> bodies, long lines)
    {
        var sample = bodies.Take(2000).ToList();
        var clock = Stopwatch.StartNew();
        var tokens = sample.Sum(b => (long)tokenizer.Encode(b, maxLength: Length).Ids.Length);
        var perLine = tokens / (double)sample.Count;
        var bytes = lines * (perLine * 4 + 24 + 8);
        var tokenizeSeconds = clock.Elapsed.TotalSeconds * lines / sample.Count;
        Console.WriteLine($"In memory it would hold {lines:N0} rows x {perLine:F1} tokens = {bytes / (1L << 30):F2} GiB of token ids before its first step, " +
                          $"after tokenizing every line (about {tokenizeSeconds / 60:F0} min at the sample's rate); not run.");
    }

    private static (long Lines, long Bytes) Generate(string path, List<string> bodies, long target)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        long lines = 0, bytes = 0;
        while (bytes < target)
        {
            var line = $"{lines} {bodies[(int)(lines % bodies.Count)]}";
            writer.Write(line);
            writer.Write('\n');
            bytes += Encoding.UTF8.GetByteCount(line) + 1;
            lines++;
        }
        return (lines, bytes);
    }

    private static IEnumerable<string> Chunks(string text, int size)
    {
        for (var start = 0; start < text.Length; start += size) yield return text.Substring(start, Math.Min(size, text.Length - start));
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries));

    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
