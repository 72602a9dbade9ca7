using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// Generation fine-tuning on SpamAssassin: write a mail's subject from its body. A GPT-style causal
/// LM (4 x 128) pretrained on the training mails' text, then fine-tuned on body -> subject rows
/// with the loss on the subject only, against the same fine-tuning from scratch and two baselines
/// that need no training: the body's first line, and its first words (as many as the mean
/// training subject has). ROUGE-L F1 and BLEU-4 on test mails whose subject and body are not empty.
///   generation [--steps=1500] [--finetune-steps=1000] [--test=300] [--device=auto] [--out=runs/generation]
/// </summary>
public static class GenerationBenchmark
{
    public sealed class Row
    {
        public string Prompt { get; set; } = "";
        public string Response { get; set; } = "";
    }

    private const int Layers = 4, Hidden = 128, BlockSize = 128;

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var steps = int.Parse(Arg("steps") ?? "1500");
        var fineTuneSteps = int.Parse(Arg("finetune-steps") ?? "1000");
        var testCount = int.Parse(Arg("test") ?? "300");
        var device = Arg("device") ?? "auto";
        var output = Arg("out") ?? Path.Combine("runs", "generation");
        var clock = Stopwatch.StartNew();
        var (mails, testMails) = SpamAssassin.Load(SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz"));
        var train = Rows(mails);
        var test = Rows(testMails).Take(testCount).ToList();
        Console.WriteLine($"SpamAssassin body -> subject: {train.Count} training rows, {test.Count} test rows");

        var ml = new MLContext(seed: 1);
        var tokenizer = WordPieceTrainer.TrainTokenizer(mails.Select(m => m.Text), new WordPieceTrainerOptions { VocabularySize = 8000, MinFrequency = 2 });
        var pretrained = TrainingDisplay.Run("causal-LM pretraining", progress =>
            ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), tokenizer, maxLength: 512)
                .Append(ml.Pretraining.CausalLanguageModel(new CausalLanguageModelOptions
                {
                    Tokenizer = tokenizer, Layers = Layers, Hidden = Hidden, BlockSize = BlockSize, MaxSteps = steps, BatchSize = 32,
                    LearningRate = 1e-3, WarmupSteps = steps / 20, EvaluateEvery = Math.Max(50, steps / 5), LogEvery = 100,
                    Device = device, Seed = 7, Progress = progress,
                }))
                .Fit(ml.Data.LoadFromEnumerable(mails)).LastTransformer);
        var validations = pretrained.Training!.Validations;
        Console.WriteLine($"pretrained in {clock.Elapsed.TotalMinutes:F1} min; validation perplexity {validations[0].Perplexity:F1} -> {validations[^1].Perplexity:F1}");

        var references = test.Select(r => r.Response).ToList();
        var table = new List<string> { "| method | ROUGE-L F1 | BLEU-4 | seconds |", "|---|---|---|---|" };
        void Report(string method, IReadOnlyList<string> generated, double seconds)
        {
            var metrics = GenerationMetrics.Compute(generated, references);
            table.Add($"| {method} | {metrics.RougeL:F3} | {metrics.Bleu:F3} | {seconds:F0} |");
            Console.WriteLine($"  {method,-36} ROUGE-L {metrics.RougeL:F3}  BLEU {metrics.Bleu:F3}  ({seconds:F0} s)");
            for (var i = 0; i < 3; i++) Console.WriteLine($"      {references[i]}  ->  {generated[i]}");
        }
        Report("baseline: the body's first line", test.Select(r => FirstLine(r.Prompt)).ToList(), 0);
        var words = (int)Math.Round(train.Average(r => GenerationMetrics.Words(r.Response).Length));
        Report($"baseline: the body's first {words} words", test.Select(r => string.Join(' ', r.Prompt.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Take(words))).ToList(), 0);

        var trainData = ml.Data.LoadFromEnumerable(train);
        var testData = ml.Data.LoadFromEnumerable(test);
        foreach (var fromPretrained in new[] { true, false })
        {
            var time = Stopwatch.StartNew();
            var generator = ml.TextGeneration.FineTune(new TextGeneratorOptions
            {
                Base = fromPretrained ? pretrained : null, Tokenizer = fromPretrained ? null : tokenizer,
                Layers = Layers, Hidden = Hidden, BlockSize = BlockSize, MaxSteps = fineTuneSteps, Device = device, Seed = 1,
                EvaluateEvery = fineTuneSteps / 4, LogEvery = 200,
            }).Fit(trainData);
            var generated = generator.Transform(testData).GetColumn<ReadOnlyMemory<char>>("GeneratedText").Select(t => t.ToString()).ToList();
            Report(fromPretrained ? "pretrained + fine-tuned" : "fine-tuned from scratch", generated, time.Elapsed.TotalSeconds);
            generator.Dispose();
        }
        Console.WriteLine();
        Console.WriteLine(string.Join(Environment.NewLine, table));
        Directory.CreateDirectory(output);
        File.WriteAllLines(Path.Combine(output, "results.md"), table);
        Console.WriteLine($"total wall time {clock.Elapsed.TotalMinutes:F1} min; results in {output}");
        return 0;
    }

    // Email.Text is the subject, a newline, then the body.
    private static List<Row> Rows(IEnumerable<Email> mails) =>
        mails.Select(m => m.Text.Split('\n', 2))
            .Where(parts => parts.Length == 2 && !string.IsNullOrWhiteSpace(parts[0]) && !string.IsNullOrWhiteSpace(parts[1]))
            .Select(parts => new Row { Prompt = parts[1].Trim(), Response = parts[0].Trim() })
            .ToList();

    private static string FirstLine(string body) => body.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
}
