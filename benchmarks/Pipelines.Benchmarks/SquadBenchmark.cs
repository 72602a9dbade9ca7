using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// Extractive question answering on the SQuAD slice shipped in data/squad (the first five articles
/// of SQuAD 2.0's development set): training on the first three articles' answerable questions,
/// testing on the other two's, SQuAD's exact match and F1 against every gold answer. A 4 x 128
/// encoder pretrained (masked-LM) on the training articles' paragraphs plus AG News articles when
/// the shared data folder has them, then fine-tuned, against the same from scratch and a baseline
/// without training: the context sentence sharing the most words with the question. 3 seeds.
///   squad [--seeds=1,2,3] [--steps=2000] [--epochs=10] [--device=auto] [--out=runs/squad] [--pretrained=zip]
/// </summary>
public static class SquadBenchmark
{
    public sealed class SquadRow
    {
        public string Context { get; set; } = "";
        public string Question { get; set; } = "";
        public string Answer { get; set; } = "";
        public int AnswerStart { get; set; }
        public string[] Answers { get; set; } = [];
        public string Title { get; set; } = "";
    }

    private sealed class Text
    {
        public string Context { get; set; } = "";
    }

    private const int MaxLength = 192, Layers = 4, Hidden = 128;

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var seeds = (Arg("seeds") ?? "1,2,3").Split(',').Select(int.Parse).ToArray();
        var steps = int.Parse(Arg("steps") ?? "2000");
        var epochs = int.Parse(Arg("epochs") ?? "10");
        var device = Arg("device") ?? "auto";
        var output = Arg("out") ?? Path.Combine("runs", "squad");
        var clock = Stopwatch.StartNew();
        var path = Arg("data") ?? DataFiles.Find("data/squad/dev-v2.0-first-5-articles.json") ?? throw new FileNotFoundException("data/squad not found");
        var questions = Load(path).Where(q => q.Answers.Length > 0).ToList();
        var titles = questions.Select(q => q.Title).Distinct().ToList();
        var train = questions.Where(q => titles.IndexOf(q.Title) < 3).ToList();
        var test = questions.Where(q => titles.IndexOf(q.Title) >= 3).ToList();
        Console.WriteLine($"SQuAD slice: {train.Count} training questions ({string.Join(", ", titles.Take(3))}), {test.Count} test questions ({string.Join(", ", titles.Skip(3))})");

        var ml = new MLContext(seed: 1);
        MaskedLanguageModelTransformer pretrained;
        if (Arg("pretrained") is { } saved) pretrained = MaskedLanguageModelTransformer.FromZip(saved);
        else
        {
            var texts = train.Select(q => q.Context).Distinct().ToList();
            if (DataFiles.Find("data/agnews/train.tsv") is { } agNews) texts.AddRange(File.ReadLines(agNews).Select(line => line.Split('\t')[0]));
            Console.WriteLine($"pretraining on {texts.Count:N0} texts (the training paragraphs{(texts.Count > train.Count ? " and AG News articles" : "")})");
            var tokenizer = WordPieceTrainer.TrainTokenizer(texts, new WordPieceTrainerOptions { VocabularySize = 8000, MinFrequency = 2 });
            var data = ml.Data.LoadFromEnumerable(texts.Select(t => new Text { Context = t }));
            var chain = TrainingDisplay.Run("masked-LM pretraining", progress =>
                ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Text.Context), tokenizer, MaxLength)
                    .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
                    {
                        Tokenizer = tokenizer, Layers = Layers, Hidden = Hidden, Heads = 2, MaxLength = MaxLength, MaxSteps = steps, BatchSize = 32,
                        WarmupSteps = steps / 20, EvaluateEvery = Math.Max(50, steps / 5), LogEvery = 100, Device = device, Seed = 7, Progress = progress,
                    }))
                    .Fit(data));
            pretrained = chain.LastTransformer;
            Directory.CreateDirectory(output);
            ml.Model.SaveAtomically(chain, data.Schema, Path.Combine(output, "pretrained.zip"));
            var validations = pretrained.Training!.Validations;
            Console.WriteLine($"pretrained in {clock.Elapsed.TotalMinutes:F1} min; validation perplexity {validations[0].Perplexity:F1} -> {validations[^1].Perplexity:F1}");
        }

        var testData = ml.Data.LoadFromEnumerable(test);
        var table = new List<string> { "| method | exact match | F1 | seconds |", "|---|---|---|---|" };
        var baseline = QuestionAnsweringMetrics.Compute(test.Select(q => BestSentence(q.Context, q.Question)).ToList(), test.Select(q => (IReadOnlyList<string>)q.Answers).ToList());
        table.Add($"| baseline: the sentence sharing most words with the question | {baseline.ExactMatch:F3} | {baseline.F1:F3} | 0 |");
        Console.WriteLine(table[^1]);
        foreach (var fromPretrained in new[] { true, false })
        {
            var results = new List<(double Em, double F1, double Seconds)>();
            foreach (var seed in seeds)
            {
                var time = Stopwatch.StartNew();
                var model = ml.QuestionAnswering.FineTune(new QuestionAnsweringOptions
                {
                    Base = fromPretrained ? EncoderSource.FromTransformer(pretrained) : EncoderSource.None, Tokenizer = fromPretrained ? null : pretrained.Tokenizer,
                    QuestionColumnName = nameof(SquadRow.Question), Layers = Layers, Hidden = Hidden, Heads = 2, MaxLength = MaxLength, MaxEpoch = epochs,
                    Device = device, Seed = seed, LogEvery = 1000,
                }).Fit(ml.Data.LoadFromEnumerable(train));
                var metrics = ml.QuestionAnswering.Evaluate(model.Transform(testData), labelColumnName: nameof(SquadRow.Answers));
                results.Add((metrics.ExactMatch, metrics.F1, time.Elapsed.TotalSeconds));
                Console.WriteLine($"  {(fromPretrained ? "pretrained + fine-tuned" : "from scratch"),-24} seed {seed}  EM {metrics.ExactMatch:F3}  F1 {metrics.F1:F3}  ({time.Elapsed.TotalSeconds:F0} s)");
                model.Dispose();
            }
            string Cell(IEnumerable<double> values) => LabelEfficiency.MeanSd(values.ToArray());
            table.Add($"| {(fromPretrained ? "pretrained + fine-tuned" : "from scratch")} | {Cell(results.Select(r => r.Em))} | {Cell(results.Select(r => r.F1))} | {results.Average(r => r.Seconds):F0} |");
        }
        Console.WriteLine();
        Console.WriteLine(string.Join(Environment.NewLine, table));
        Directory.CreateDirectory(output);
        File.WriteAllLines(Path.Combine(output, "results.md"), table);
        Console.WriteLine($"total wall time {clock.Elapsed.TotalMinutes:F1} min; results in {output}");
        return 0;
    }

    /// <summary>Every question of a SQuAD-format file (v1.1 or v2.0), its first answer for training and all answers for scoring.</summary>
    public static List<SquadRow> Load(string path)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var questions = new List<SquadRow>();
        foreach (var article in json.RootElement.GetProperty("data").EnumerateArray())
            foreach (var paragraph in article.GetProperty("paragraphs").EnumerateArray())
                foreach (var qa in paragraph.GetProperty("qas").EnumerateArray())
                {
                    var answers = qa.GetProperty("answers").EnumerateArray().ToList();
                    questions.Add(new SquadRow
                    {
                        Title = article.GetProperty("title").GetString() ?? "",
                        Context = paragraph.GetProperty("context").GetString() ?? "",
                        Question = qa.GetProperty("question").GetString() ?? "",
                        Answer = answers.Count > 0 ? answers[0].GetProperty("text").GetString() ?? "" : "",
                        AnswerStart = answers.Count > 0 ? answers[0].GetProperty("answer_start").GetInt32() : -1,
                        Answers = answers.Select(a => a.GetProperty("text").GetString() ?? "").ToArray(),
                    });
                }
        return questions;
    }

    private static string BestSentence(string context, string question)
    {
        var words = QuestionAnsweringMetrics.Normalize(question).Split(' ').ToHashSet();
        return context.Split(". ").OrderByDescending(s => QuestionAnsweringMetrics.Normalize(s).Split(' ').Count(words.Contains)).First();
    }
}
