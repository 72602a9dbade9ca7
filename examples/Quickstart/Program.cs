using System.Diagnostics;
using Microsoft.ML;
using Pipelines;
using Pipelines.Examples.Common;
using Pipelines.Models;

// The story in one run, on the SpamAssassin mails shipped in data/:
//   1. pretrain a small BERT-style masked-LM on every training mail's text (no labels used);
//   2. fine-tune spam classifiers with few labels, and compare with SDCA on n-grams next to the
//      pretrained model's (frozen) embeddings, the same model trained from scratch and ML.NET's
//      classic text baseline (FeaturizeText + SDCA logistic regression);
//   3. save the classifier as an ordinary ML.NET model zip, load it back, classify new mails.
//   dotnet run -c Release --project examples/Quickstart -- [--full] [--device auto|cpu|cuda|cuda:N] [--data file] [--out runs/quickstart]
// Options take "--name value" or "--name=value"; --help lists them with their defaults.

var command = new ExampleCommand("Pretrain a small masked-LM on the SpamAssassin mails without their labels, fine-tune spam classifiers with few labels, " +
                                 "compare them with SDCA on n-grams + the pretrained embeddings, training from scratch and ML.NET's FeaturizeText + SDCA, save and reload the classifier.");
var fullOption = command.Add("--full", false, "the whole benchmark: 3 seeds, 1 %, 10 % and 100 % of the labels, 1,500 pretraining steps");
var deviceOption = command.Device();
var dataOption = command.Data(SpamAssassin.DefaultPath ?? "data/spamassassin/emails.jsonl.gz", "the SpamAssassin mails (emails.jsonl.gz)");
var outOption = command.Out(Path.Combine("runs", "quickstart"));
return command.Run(args, run =>
{
    var full = run.GetRequiredValue(fullOption);
    var device = run.GetRequiredValue(deviceOption);
    var output = run.GetRequiredValue(outOption);
    var options = full
        ? new LabelEfficiencyOptions { Device = device }
        : new LabelEfficiencyOptions { Device = device, PretrainSteps = 600, Fractions = [0.01, 0.1], Seeds = [1] };
    var clock = Stopwatch.StartNew();

    var (train, test) = SpamAssassin.Load(run.GetRequiredValue(dataOption));
    Console.WriteLine($"SpamAssassin: {train.Count:N0} training mails ({train.Count(e => e.Label):N0} spam), {test.Count:N0} test mails. " +
                      $"{(full ? "Full run" : "Quick run (--full for 3 seeds and 100 % labels)")}.");

    // 1. Pretraining: a WordPiece vocabulary and a masked-LM from unlabelled text.
    var ml = new MLContext(seed: 1);
    var pretrained = TrainingDisplay.Run("pretraining", progress => LabelEfficiency.Pretrain(ml, train, options with { Progress = progress }));
    var validations = pretrained.Model.Training!.Validations;
    Console.WriteLine($"Pretrained {options.Layers} layers x {options.Hidden} on {train.Count:N0} mails in {pretrained.Elapsed.TotalMinutes:F1} min: " +
                      $"validation perplexity {validations[0].Perplexity:F0} -> {validations[^1].Perplexity:F1}, masked-token accuracy {validations[^1].Accuracy:P0}.");
    var curve = LossCurves.Write(pretrained.Model.Training, output, "pretraining-loss", "Masked-LM pretraining on SpamAssassin (training mails, no labels)");
    Console.WriteLine($"Loss curve: {curve}");

    // 2. Few labels: pretrained + fine-tuned vs pretrained embeddings + n-grams vs from scratch vs ML.NET's classic baseline.
    Console.WriteLine();
    Console.WriteLine("Spam classifiers on the test split:");
    var results = LabelEfficiency.Compare(ml, pretrained, train, test, options,
        r => Console.WriteLine($"  {r.Labels,5} labels, seed {r.Seed}: {r.Method,-38} F1 {r.F1:F3}  AUC {r.Auc:F3}"));
    var table = LabelEfficiency.Table(results);
    Console.WriteLine();
    Console.WriteLine(table);
    File.WriteAllText(Path.Combine(output, "results.md"), table + Environment.NewLine);

    // 3. An ordinary ML.NET model zip: tokenizer + fine-tuned classifier, from 10 % of the labels.
    var labelled = LabelEfficiency.Sample(train, 0.1, seed: 1);
    var pipeline = ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), pretrained.Tokenizer, options.MaxLength)
        .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
        {
            Base = EncoderSource.FromTransformer(pretrained.Model), MaxLength = options.MaxLength, MaxEpoch = 6, BatchSize = 16,
            LearningRate = 3e-4, Device = device, Seed = 1, LogEvery = 1000, Pooling = Pooling.Mean,
        }));
    var model = pipeline.Fit(ml.Data.LoadFromEnumerable(labelled));
    var zip = Path.Combine(output, "spam-classifier.zip");
    ml.Model.SaveAtomically(model, ml.Data.LoadFromEnumerable(labelled).Schema, zip);
    Console.WriteLine();
    Console.WriteLine($"Saved {zip} ({new FileInfo(zip).Length / 1024:N0} KB); loading it in a new MLContext:");
    var other = new MLContext();
    var engine = other.Model.CreatePredictionEngine<Email, SpamPrediction>(other.Model.Load(zip, out _));
    foreach (var text in new[]
    {
        "Congratulations! You have been selected to receive a FREE cruise. Click here now to claim your prize, limited offer!",
        "Hi all, the build is broken on the release branch since yesterday's merge. Can someone look at the failing test before the meeting?",
        "Lowest mortgage rates guaranteed. No credit check. Reply today to refinance and save thousands.",
    })
    {
        var prediction = engine.Predict(new Email { Text = text });
        Console.WriteLine($"  {(prediction.PredictedLabel ? "SPAM" : "ham "),-4} p(spam) = {prediction.Probability:F3}  {text[..Math.Min(70, text.Length)]}...");
    }
    Console.WriteLine($"Done in {clock.Elapsed.TotalMinutes:F1} min. Outputs in {Path.GetFullPath(output)}");
    return 0;
});

sealed class SpamPrediction
{
    public bool PredictedLabel { get; set; }
    public float Probability { get; set; }
}
