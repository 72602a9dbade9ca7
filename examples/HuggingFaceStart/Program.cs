using System.Diagnostics;
using Microsoft.ML;
using Pipelines;
using Pipelines.Examples.Common;
using Pipelines.Models;
using Pipelines.Models.HuggingFace;

// Fine-tuning that starts from a Hugging Face model directory (config.json + model.safetensors +
// vocab.txt, or vocab.json + merges.txt), as downloaded for bert or roberta models. No model hub is
// reachable here, so by default the example makes such a directory itself: it pretrains a small
// masked-LM on the SpamAssassin training mails (no labels) and exports it in Hugging Face's format
// (transformers' from_pretrained reads it). Then, as with any checkpoint directory, it fine-tunes a
// spam classifier from it with 10 % of the labels, next to the same classifier from scratch, and
// saves and reloads the model zip. --model=<directory> starts from your own checkpoint instead.
//   dotnet run -c Release --project examples/HuggingFaceStart -- [--model dir] [--steps 600] [--fraction 0.1] [--epochs 4] [--device auto]
// Options take "--name value" or "--name=value"; --help lists them with their defaults.

var command = new ExampleCommand("Fine-tune a spam classifier from a Hugging Face bert or roberta directory, next to the same classifier from scratch.");
var modelOption = command.Add("--model", "the Hugging Face directory to start from [default: one this example makes by pretraining on the mails]");
var stepsOption = command.Add("--steps", 600, "masked-LM pretraining steps of the directory this example makes (unused with --model)");
var fractionOption = command.Add("--fraction", 0.1, "fraction of the training mails whose labels the classifiers use");
var epochsOption = command.Add("--epochs", 4, "fine-tuning epochs");
var deviceOption = command.Device();
return command.Run(args, run =>
{
    var steps = run.GetRequiredValue(stepsOption);
    var fraction = run.GetRequiredValue(fractionOption);
    var epochs = run.GetRequiredValue(epochsOption);
    var device = run.GetRequiredValue(deviceOption);
    const int maxLength = 128;
    var output = Path.Combine("runs", "huggingface-start");
    var clock = Stopwatch.StartNew();
    var (train, test) = SpamAssassin.Load(SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz not found"));
    var ml = new MLContext(seed: 1);

    var directory = run.GetValue(modelOption) ?? ExportPretrained();
    Console.WriteLine($"starting from the Hugging Face directory {directory}: {string.Join(", ", Directory.GetFiles(directory).Select(Path.GetFileName).Order())}");

    // The two calls a downloaded checkpoint needs: its tokenizer for the token column, its encoder as the start.
    var tokenizer = EncoderSource.HuggingFaceTokenizer(directory);
    var labelled = LabelEfficiency.Sample(train, fraction, seed: 1);
    var labelledData = ml.Data.LoadFromEnumerable(labelled);
    var testData = ml.Data.LoadFromEnumerable(test);
    Console.WriteLine($"{labelled.Count:N0} labelled mails ({fraction:P0}); test split {test.Count:N0} mails:");
    ITransformer? fromCheckpoint = null;
    foreach (var (name, start) in new[] { ("from the Hugging Face directory", EncoderSource.FromHuggingFace(directory)), ("from scratch (same size)", EncoderSource.None) })
    {
        var started = Stopwatch.StartNew();
        var options = new TextClassifierOptions
        {
            Base = start, Tokenizer = tokenizer, MaxLength = maxLength, MaxEpoch = epochs, BatchSize = 16, LearningRate = 3e-4,
            Pooling = Pooling.Mean, ValidationFraction = 0.1, Device = device, Seed = 1, LogEvery = 1000,
        };
        if (start == EncoderSource.None) (options.Layers, options.Hidden, options.Heads) = ArchitectureOf(directory);
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), tokenizer, maxLength)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(options))
            .Fit(labelledData);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(testData), nameof(Email.Label));
        Console.WriteLine($"  {name,-34} F1 {metrics.F1Score:F3}  AUC {metrics.AreaUnderRocCurve:F3}  ({started.Elapsed.TotalMinutes:F1} min)");
        fromCheckpoint ??= model;
    }

    var zip = Path.Combine(output, "spam-from-huggingface.zip");
    ml.Model.SaveAtomically(fromCheckpoint!, labelledData.Schema, zip);
    var reloaded = new MLContext().Model.Load(zip, out _);
    var again = ml.BinaryClassification.Evaluate(reloaded.Transform(testData), nameof(Email.Label));
    Console.WriteLine($"saved to {zip} (it needs no Hugging Face files any more); reloaded in a new MLContext: F1 {again.F1Score:F3}");
    Console.WriteLine($"total {clock.Elapsed.TotalMinutes:F1} min");
    return 0;

    // Pretrains a small BERT on the training mails' text and writes it as a Hugging Face bert directory.
    string ExportPretrained()
    {
        var target = Path.Combine(output, "bert-spamassassin");
        var vocabulary = WordPieceTrainer.Train(train.Select(e => e.Text), new WordPieceTrainerOptions { VocabularySize = 8000, MinFrequency = 2 });
        var wordPiece = TextTokenizer.FromWordPieceVocab(vocabulary);
        Console.WriteLine($"WordPiece vocabulary of {wordPiece.VocabSize:N0} trained on the training mails");
        var pretrained = TrainingDisplay.Run("pretraining", progress =>
        {
            var chain = ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), wordPiece, maxLength)
                .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
                {
                    Tokenizer = wordPiece, Layers = 4, Hidden = 128, Heads = 2, MaxLength = maxLength, MaxSteps = steps, BatchSize = 32,
                    LearningRate = 1e-3, WarmupSteps = steps / 20, EvaluateEvery = Math.Max(50, steps / 6), LogEvery = 100,
                    Device = device, Seed = 7, Progress = progress,
                }))
                .Fit(ml.Data.LoadFromEnumerable(train));
            return chain.LastTransformer;
        });
        Directory.CreateDirectory(target);
        var vocabFile = Path.Combine(output, "vocab.txt");
        File.WriteAllLines(vocabFile, vocabulary);
        HuggingFaceExport.Save(pretrained.Model, pretrained.Config, target, HuggingFaceModelType.Bert, new HuggingFaceTokenizerFiles(Vocabulary: vocabFile));
        Console.WriteLine($"pretrained a 4 x 128 masked-LM on {train.Count:N0} unlabelled mails ({pretrained.Training!.Best}) and exported it");
        return target;
    }
});

// Layers, hidden size and heads from the directory's config.json, for the from-scratch model of the same size.
static (int Layers, int Hidden, int Heads) ArchitectureOf(string directory)
{
    var config = HuggingFaceConfig.Read(Path.Combine(directory, HuggingFaceConfig.FileName)).Transformer;
    return (config.Layers, config.Hidden, config.Heads);
}
