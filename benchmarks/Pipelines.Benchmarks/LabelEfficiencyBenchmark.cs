using System.Diagnostics;
using Microsoft.ML;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// The label-efficiency comparison on SpamAssassin (its own train/test split; or SST-2, train and test): a masked-LM
/// pretrained on every training text then fine-tuned, the same model from scratch, and ML.NET's
/// FeaturizeText + SDCA, at 1 %, 10 % and 100 % of the training labels, 3 seeds each; F1 and AUC on
/// the test split. Also reports how far pretraining lowered validation perplexity, and the wall time.
///   label-efficiency [--dataset=spamassassin|sst2 (binary sentiment; the test split's 1,821 sentences)] [--seeds=3] [--steps=1500] [--layers=4] [--hidden=128] [--device=auto] [--fractions=0.01,0.1,1]
///     [--chunk-words=0 (pretrain on each mail's start; N: on every mail's whole text cut into N-word rows)]
///     [--objective=mlm|electra (replaced-token detection)] [--max-length=128 (tokens of each mail read)] [--out=runs/label-efficiency]
///     [--self-training=0 (rounds; adds "pretrained + self-training": pseudo-labels on the other training mails)] [--threshold=0.9]
///     [--methods=pretrained,self-training,co-teacher,scratch,sdca,features,fusion (any of them, in the order given; co-teacher: self-training
///     whose first pseudo-labels come from the mean of the transformer's and FeaturizeText + SDCA's probabilities;
///     features: SDCA on n-grams + the pretrained embedding; fusion: the fine-tuned classifier's probability averaged with that SDCA's)]
///     [--lr=1e-3 (pretraining's peak)] [--pre-ln (pre-layer-norm blocks)] [--dropout=0.1 (while pretraining)]
///     [--fine-tune-steps=200 (aimed at; epochs from the rows, 3-30)] [--fine-tune-lr=3e-4] [--validation=0.1 (of the labelled rows, to choose the epoch)]
///     [--head-tail=0 (N: the transformers read each text's first and last N words)]
///     [--embed-chunks=0 (N: features and fusion's SDCA reads the mean embedding of each text's N-word chunks, not of its start)]
///     [--embedding-copies=1 (k: the unit embedding k times among SDCA's features, weighing it as sqrt(k) would)]
///     [--embedding-layers=0 (k: the embedding is the last k encoder blocks' token means, concatenated)]
///     [--pretrained=file.zip (reuse: loaded when it exists, else written after pretraining)]
/// </summary>
public static class LabelEfficiencyBenchmark
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var dataset = Arg("dataset") ?? "spamassassin";
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
            SelfTrainingRounds = int.Parse(Arg("self-training") ?? "0"),
            PseudoLabelThreshold = double.Parse(Arg("threshold") ?? "0.9"),
            Methods = Arg("methods")?.Split(',').Select(MethodName).ToArray(),
            PretrainedPath = Arg("pretrained"),
            PretrainLearningRate = double.Parse(Arg("lr") ?? "1e-3"),
            PretrainPreLayerNorm = args.Contains("--pre-ln"),
            PretrainDropout = double.Parse(Arg("dropout") ?? "0.1"),
            FineTuneStepsTarget = int.Parse(Arg("fine-tune-steps") ?? "200"),
            FineTuneLearningRate = double.Parse(Arg("fine-tune-lr") ?? "3e-4"),
            FineTuneValidationFraction = double.Parse(Arg("validation") ?? "0.1"),
            HeadTailWords = int.Parse(Arg("head-tail") ?? "0"),
            EmbeddingChunkWords = int.Parse(Arg("embed-chunks") ?? "0"),
            EmbeddingCopies = int.Parse(Arg("embedding-copies") ?? "1"),
            EmbeddingLayers = int.Parse(Arg("embedding-layers") ?? "0"),
        };
        var clock = Stopwatch.StartNew();
        var (train, test) = dataset switch
        {
            "spamassassin" => SpamAssassin.Load(Arg("data") ?? SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz not found")),
            "sst2" => Sst2.Load(Arg("data") ?? Sst2.DefaultFolder ?? throw new FileNotFoundException("data/sst2/train.tsv not found (SST-2 is read from the shared data folder)")),
            _ => throw new ArgumentException($"--dataset: '{dataset}' is neither spamassassin nor sst2."),
        };
        Console.WriteLine($"{dataset}: {train.Count} training rows ({train.Count(e => e.Label)} positive: {(dataset == "sst2" ? "positive sentiment" : "spam")}), {test.Count} test rows");
        var ml = new MLContext(seed: 1);
        var pretrained = TrainingDisplay.Run(options.Objective == EncoderObjective.ReplacedTokenDetection ? "ELECTRA pretraining" : "masked-LM pretraining", progress => LabelEfficiency.Pretrain(ml, train, options with { Progress = progress }));
        if (pretrained.Model.Training is not { } training) return Compare(ml, pretrained, train, test, options, output, clock);
        var validations = training.Validations;
        Console.WriteLine($"pretraining: {pretrained.Elapsed.TotalMinutes:F1} min; validation perplexity {validations[0].Perplexity:F1} -> {validations[^1].Perplexity:F1} " +
                          $"({validations[0].Perplexity / validations[^1].Perplexity:F1}x lower), masked-token accuracy {validations[^1].Accuracy:P1}");
        Console.WriteLine("(the first validation is at the first evaluation step; the untrained model's perplexity is about the vocabulary size, " +
                          $"{pretrained.Tokenizer.VocabSize})");
        LossCurves.Write(training, output, "pretraining", $"Masked-LM pretraining on the {dataset} training text");
        return Compare(ml, pretrained, train, test, options, output, clock);
    }

    private static string MethodName(string key) => key switch
    {
        "pretrained" => LabelEfficiency.PretrainedMethod,
        "self-training" => LabelEfficiency.SelfTrainingMethod,
        "co-teacher" => LabelEfficiency.EnsembleSelfTrainingMethod,
        "scratch" => LabelEfficiency.ScratchMethod,
        "sdca" => LabelEfficiency.ClassicMethod,
        "features" => LabelEfficiency.FeaturesMethod,
        "fusion" => LabelEfficiency.FusionMethod,
        _ => throw new ArgumentException($"--methods: '{key}' is none of pretrained, self-training, co-teacher, scratch, sdca, features, fusion."),
    };

    private static int Compare(MLContext ml, LabelEfficiency.Pretrained pretrained, List<Email> train, List<Email> test,
        LabelEfficiencyOptions options, string output, Stopwatch clock)
    {
        var results = LabelEfficiency.Compare(ml, pretrained, train, test, options,
            r => Console.WriteLine($"  {LabelEfficiency.Percent(r.Fraction),7} ({r.Labels,4} labels) seed {r.Seed}  {r.Method,-38} F1 {r.F1:F3}  AUC {r.Auc:F3}  ({r.Seconds:F0} s)"));
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
