using System.Diagnostics;
using Microsoft.ML;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// The label-efficiency comparison on SpamAssassin (its own train/test split): a masked-LM
/// pretrained on every training text then fine-tuned, the same model from scratch, and ML.NET's
/// FeaturizeText + SDCA, at 1 %, 10 % and 100 % of the training labels, 3 seeds each; F1 and AUC on
/// the test split. Also reports how far pretraining lowered validation perplexity, and the wall time.
///   label-efficiency [--seeds=3] [--steps=1500] [--layers=4] [--hidden=128] [--device=auto] [--fractions=0.01,0.1,1]
///     [--chunk-words=0 (pretrain on each mail's start; N: on every mail's whole text cut into N-word rows)]
///     [--objective=mlm|electra (replaced-token detection)] [--max-length=128 (tokens of each mail read)] [--out=runs/label-efficiency]
/// </summary>
public static class LabelEfficiencyBenchmark
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var path = Arg("data") ?? SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz not found");
        var output = Arg("out") ?? Path.Combine("runs", "label-efficiency");
        var options = new LabelEfficiencyOptions
        {
            Seeds = Enumerable.Range(1, int.Parse(Arg("seeds") ?? "3")).ToArray(),
            PretrainSteps = int.Parse(Arg("steps") ?? "1500"),
            Layers = int.Parse(Arg("layers") ?? "4"),
            Hidden = int.Parse(Arg("hidden") ?? "128"),
            Device = Arg("device") ?? "auto",
            Fractions = (Arg("fractions") ?? "0.01,0.1,1").Split(',').Select(double.Parse).ToArray(),
            PretrainChunkWords = int.Parse(Arg("chunk-words") ?? "0"),
            MaxLength = int.Parse(Arg("max-length") ?? "128"),
            Objective = Arg("objective") == "electra" ? EncoderObjective.ReplacedTokenDetection : EncoderObjective.MaskedLanguageModel,
        };
        var clock = Stopwatch.StartNew();
        var (train, test) = SpamAssassin.Load(path);
        Console.WriteLine($"SpamAssassin: {train.Count} training mails ({train.Count(e => e.Label)} spam), {test.Count} test mails");
        var ml = new MLContext(seed: 1);
        var pretrained = TrainingDisplay.Run(options.Objective == EncoderObjective.ReplacedTokenDetection ? "ELECTRA pretraining" : "masked-LM pretraining", progress => LabelEfficiency.Pretrain(ml, train, options with { Progress = progress }));
        var validations = pretrained.Model.Training!.Validations;
        Console.WriteLine($"pretraining: {pretrained.Elapsed.TotalMinutes:F1} min; validation perplexity {validations[0].Perplexity:F1} -> {validations[^1].Perplexity:F1} " +
                          $"({validations[0].Perplexity / validations[^1].Perplexity:F1}x lower), masked-token accuracy {validations[^1].Accuracy:P1}");
        Console.WriteLine("(the first validation is at the first evaluation step; the untrained model's perplexity is about the vocabulary size, " +
                          $"{pretrained.Tokenizer.VocabSize})");
        LossCurves.Write(pretrained.Model.Training, output, "pretraining", "Masked-LM pretraining on SpamAssassin training mails");

        var results = LabelEfficiency.Compare(ml, pretrained, train, test, options,
            r => Console.WriteLine($"  {r.Fraction,5:P0} ({r.Labels,4} labels) seed {r.Seed}  {r.Method,-28} F1 {r.F1:F3}  AUC {r.Auc:F3}  ({r.Seconds:F0} s)"));
        var table = LabelEfficiency.Table(results);
        Console.WriteLine();
        Console.WriteLine(table);
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "results.md"), table + Environment.NewLine);
        File.WriteAllLines(Path.Combine(output, "results.csv"),
            ["method,fraction,labels,seed,f1,auc,seconds", .. results.Select(r => $"{r.Method},{r.Fraction},{r.Labels},{r.Seed},{r.F1:F4},{r.Auc:F4},{r.Seconds:F1}")]);
        Console.WriteLine($"total wall time {clock.Elapsed.TotalMinutes:F1} min; results in {output}");
        return 0;
    }
}
