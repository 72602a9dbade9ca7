using System.Diagnostics;
using Microsoft.ML;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// NER on CoNLL-2003 (train on eng.train, select the epoch on eng.testa, report on eng.testb):
/// (a) a masked-LM pretrained on the training sentences' text (no tags) then fine-tuned as a
/// tagger, (b) the same tagger trained from scratch, each with 10 % and 100 % of the training
/// sentences. Entity-level micro F1 and per-type F1 (seqeval's definition), and wall times; and each
/// tagger's micro F1 with constrained (Viterbi, the default) and word-by-word decoding of the same weights;
/// (c) the pretrained tagger with a CRF layer.
/// --seed=N adds N to every seed (pretraining, fine-tuning, the sampled sentences; 0: the published run);
/// --no-crf leaves out (c).
///   ner [--data=folder] [--fractions=0.1,1] [--steps=1500] [--layers=4] [--hidden=128] [--device=auto] [--out=runs/ner] [--seed=0] [--no-crf] [--objective=mlm|electra]
/// </summary>
public static class NerBenchmark
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var folder = Arg("data") ?? Conll2003.DefaultFolder
            ?? throw new DirectoryNotFoundException("CoNLL-2003 not found: pass --data=<folder with eng.train, eng.testa, eng.testb>.");
        var fractions = (Arg("fractions") ?? "0.1,1").Split(',').Select(double.Parse).ToArray();
        var options = new NerOptions
        {
            PretrainSteps = int.Parse(Arg("steps") ?? "1500"), Layers = int.Parse(Arg("layers") ?? "4"),
            Hidden = int.Parse(Arg("hidden") ?? "128"), Device = Arg("device") ?? "auto", SeedOffset = int.Parse(Arg("seed") ?? "0"),
            Objective = Arg("objective") == "electra" ? EncoderObjective.ReplacedTokenDetection : EncoderObjective.MaskedLanguageModel,
        };
        var crfToo = !args.Contains("--no-crf");
        var output = Arg("out") ?? Path.Combine("runs", "ner");
        var clock = Stopwatch.StartNew();

        var train = Conll2003.Read(Path.Combine(folder, "eng.train"));
        var dev = Conll2003.Read(Path.Combine(folder, "eng.testa"));
        var test = Conll2003.Read(Path.Combine(folder, "eng.testb"));
        Console.WriteLine($"CoNLL-2003: train {train.Count:N0} sentences / {train.Sum(s => s.Label.Length):N0} words, " +
                          $"testa {dev.Count:N0} / {dev.Sum(s => s.Label.Length):N0}, testb {test.Count:N0} / {test.Sum(s => s.Label.Length):N0}");

        var ml = new MLContext(seed: 1);
        var tokenizer = NerExperiment.Tokenizer(train, options);
        Console.WriteLine($"cased WordPiece vocabulary of {tokenizer.VocabSize:N0} trained on the training sentences");
        var pretrainClock = Stopwatch.StartNew();
        var pretrained = TrainingDisplay.Run("masked-LM pretraining", progress => NerExperiment.Pretrain(ml, tokenizer, train, options, progress));
        var validations = pretrained.Training!.Validations;
        Console.WriteLine($"pretraining on the training text ({Conll2003.DocumentChunks(train, options.ChunkWords).Count:N0} chunks): " +
                          $"{pretrainClock.Elapsed.TotalMinutes:F1} min; validation perplexity {validations[0].Perplexity:F1} -> {validations[^1].Perplexity:F1}, " +
                          $"masked-token accuracy {validations[^1].Accuracy:P1}");
        LossCurves.Write(pretrained.Training, output, "pretraining", "Masked-LM pretraining on CoNLL-2003 training text");

        // Validation data is read as given: tokenized here, as the chain tokenizes the training rows.
        var devData = NerExperiment.Tokenize(ml, tokenizer, options).Fit(ml.Data.LoadFromEnumerable(dev)).Transform(ml.Data.LoadFromEnumerable(dev));
        var testData = ml.Data.LoadFromEnumerable(test);
        var lines = new List<string>
        {
            "| sentences | method | micro F1 | PER | LOC | ORG | MISC | tag accuracy | epochs run | minutes |",
            "|---|---|---|---|---|---|---|---|---|---|",
        };
        var decodings = new List<string>
        {
            "| sentences | method | constrained: micro F1 (P / R) | word by word: micro F1 (P / R) |",
            "|---|---|---|---|",
        };
        foreach (var fraction in fractions)
        {
            var sample = NerExperiment.Sample(train, fraction, options.SeedOffset);
            foreach (var (fromPretrained, crf) in new[] { (true, false), (false, false), (true, true) }.Where(m => crfToo || !m.Item2))
            {
                var method = (fromPretrained ? "pretrained + fine-tuned" : "from scratch") + (crf ? " + CRF" : "");
                var runClock = Stopwatch.StartNew();
                var model = NerExperiment.Tagger(ml, tokenizer, fromPretrained ? pretrained : null, sample, devData, fraction >= 0.5 ? 6 : 20, options, crf: crf);
                var tagger = model.LastTransformer;
                var metrics = ml.MulticlassClassification.EvaluateEntities(model.Transform(testData));
                var epochsRun = tagger.Training!.Steps / (double)((sample.Count + options.BatchSize - 1) / options.BatchSize);
                Console.WriteLine($"{fraction:P0} ({sample.Count:N0} sentences) {method}: eng.testb micro F1 {metrics.Micro.F1:F4}, " +
                                  $"{epochsRun:F1} epochs ({tagger.Training.Reason}), {runClock.Elapsed.TotalMinutes:F1} min");
                Console.WriteLine(metrics);
                string F(string type) => metrics.PerType.TryGetValue(type, out var s) ? s.F1.ToString("F3") : "-";
                lines.Add($"| {fraction:P0} ({sample.Count:N0}) | {method} | {metrics.Micro.F1:F3} | {F("PER")} | {F("LOC")} | {F("ORG")} | {F("MISC")} | " +
                          $"{metrics.TokenAccuracy:F3} | {epochsRun:F1} | {runClock.Elapsed.TotalMinutes:F1} |");
                tagger.Decoding = TagDecoding.Independent;
                var wordByWord = ml.MulticlassClassification.EvaluateEntities(model.Transform(testData));
                decodings.Add($"| {fraction:P0} ({sample.Count:N0}) | {method} | {metrics.Micro.F1:F3} ({metrics.Micro.Precision:F3} / {metrics.Micro.Recall:F3}) | " +
                              $"{wordByWord.Micro.F1:F3} ({wordByWord.Micro.Precision:F3} / {wordByWord.Micro.Recall:F3}) |");
                Console.WriteLine(decodings[^1]);
                tagger.Dispose();
            }
        }
        var table = string.Join(Environment.NewLine, lines) + Environment.NewLine + Environment.NewLine + string.Join(Environment.NewLine, decodings);
        Console.WriteLine();
        Console.WriteLine(table);
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "results.md"), table + Environment.NewLine);
        Console.WriteLine($"total wall time {clock.Elapsed.TotalMinutes:F1} min; results in {output}");
        return 0;
    }
}
