using System.Diagnostics;
using Microsoft.ML;
using Pipelines;
using Pipelines.Examples.Common;

// Pretrained sentence embeddings as Features for ML.NET's classic trainers: a masked-LM pretrained
// on the SpamAssassin training mails (no labels) adds an Embedding column (mean of the last hidden
// states); SDCA logistic regression learns spam from it with 10 % of the labels, next to the same
// trainer on FeaturizeText's n-grams and on both. The embedding model and the trainer save as one zip.
//   dotnet run -c Release --project examples/EmbeddingFeatures -- [--steps 600] [--fraction 0.1] [--device auto]
// Options take "--name value" or "--name=value"; --help lists them with their defaults.

var command = new ExampleCommand("Pretrained sentence embeddings as Features for ML.NET's SDCA, next to FeaturizeText's n-grams, on the SpamAssassin mails.");
var stepsOption = command.Add("--steps", 600, "masked-LM pretraining steps");
var fractionOption = command.Add("--fraction", 0.1, "fraction of the training mails whose labels the classifiers use");
var deviceOption = command.Device();
return command.Run(args, run =>
{
    var options = new LabelEfficiencyOptions { PretrainSteps = run.GetRequiredValue(stepsOption), Device = run.GetRequiredValue(deviceOption) };
    var fraction = run.GetRequiredValue(fractionOption);
    var output = Path.Combine("runs", "embedding-features");
    var path = SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz not found");
    var clock = Stopwatch.StartNew();
    var (train, test) = SpamAssassin.Load(path);

    var ml = new MLContext(seed: 1);
    var pretrained = TrainingDisplay.Run("pretraining", progress => LabelEfficiency.Pretrain(ml, train, options with { Progress = progress }));
    Console.WriteLine($"masked-LM pretrained on {train.Count:N0} unlabelled mails in {pretrained.Elapsed.TotalMinutes:F1} min");

    // The fitted tokenizer and the pretrained model form a featurizer: it adds "Embedding" (one vector per mail).
    var labelled = LabelEfficiency.Sample(train, fraction, seed: 1);
    var labelledData = ml.Data.LoadFromEnumerable(labelled);
    var testData = ml.Data.LoadFromEnumerable(test);
    var featurizer = ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), pretrained.Tokenizer, options.MaxLength)
        .Fit(labelledData).Append(pretrained.Model);

    var sdca = (string features) => ml.BinaryClassification.Trainers.SdcaLogisticRegression(nameof(Email.Label), features);
    var ngrams = ml.Transforms.Text.FeaturizeText("NGrams", nameof(Email.Text));
    var candidates = new (string Name, Func<IDataView, ITransformer> Fit)[]
    {
        // SDCA passes over the data many times: cache the embeddings so the encoder runs once per mail.
        ("SDCA on pretrained embeddings", data => featurizer.Append(sdca("Embedding").Fit(ml.Data.Cache(featurizer.Transform(data))))),
        ("SDCA on FeaturizeText n-grams", data => ngrams.Append(sdca("NGrams")).Fit(data)),
        ("SDCA on both", data =>
        {
            // The embedding as a unit vector, as FeaturizeText's n-grams are: SDCA weighs the two alike, and
            // converges on few rows (min-max scaling all 37,000 columns kept it iterating for minutes on 49).
            var both = ml.Transforms.NormalizeLpNorm("UnitEmbedding", "Embedding").Append(ml.Transforms.Concatenate("Both", "UnitEmbedding", "NGrams"));
            var features = ngrams.Fit(featurizer.Transform(data));
            var withFeatures = featurizer.Append(features);
            return withFeatures.Append(both.Append(sdca("Both")).Fit(ml.Data.Cache(withFeatures.Transform(data))));
        }),
    };
    Console.WriteLine($"{labelled.Count:N0} labelled mails ({fraction:P0}); test split {test.Count:N0} mails:");
    ITransformer? first = null;
    foreach (var (name, fit) in candidates)
    {
        var model = fit(labelledData);
        first ??= model;
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(testData), nameof(Email.Label));
        Console.WriteLine($"  {name,-32} F1 {metrics.F1Score:F3}  AUC {metrics.AreaUnderRocCurve:F3}");
    }

    Directory.CreateDirectory(output);
    var zip = Path.Combine(output, "embedding-sdca.zip");
    ml.Model.SaveAtomically(first!, labelledData.Schema, zip);
    var reloaded = new MLContext().Model.Load(zip, out _);
    var again = ml.BinaryClassification.Evaluate(reloaded.Transform(testData), nameof(Email.Label));
    Console.WriteLine($"saved the embedding + SDCA pipeline to {zip}; reloaded in a new MLContext: F1 {again.F1Score:F3}");
    Console.WriteLine($"total {clock.Elapsed.TotalMinutes:F1} min");
    return 0;
});
