using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Pipelines;

// Spam filtering from mostly unlabelled mail: pretrain a small BERT-style model on the text of
// every mail, fine-tune a classifier on the one mail in ten that has a label, save the model as an
// ML.NET zip, load it in a new MLContext and classify.
var path = args.Length > 0 ? args[0] : "emails.jsonl.gz";
var mails = ReadMails(path).ToArray();
new Random(1).Shuffle(mails);   // the file is sorted by source folder
var train = mails.Where(m => !m.IsTest).Take(1200).ToList();
var test = mails.Where(m => m.IsTest).Take(300).ToList();
for (var i = 0; i < train.Count; i++)
    if (i % 10 != 0) train[i] = train[i] with { Label = float.NaN };   // NaN: no label

var ml = new MLContext(seed: 1);
var trainData = ml.Data.LoadFromEnumerable(train);

var tokenizer = WordPieceTrainer.TrainTokenizer(train.Select(m => m.Text), new WordPieceTrainerOptions { VocabularySize = 2000 });
var pretraining = ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
{
    Tokenizer = tokenizer, MaxLength = 64, Layers = 2, Hidden = 64, MaxSteps = 40,
});
var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 64)
    .Append(pretraining)
    .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
    {
        Base = EncoderSource.FromEstimator(pretraining), MaxLength = 64, MaxEpoch = 3,
    }))
    .Fit(trainData);

var testData = ml.Data.LoadFromEnumerable(test);
var metrics = ml.BinaryClassification.Evaluate(model.Transform(testData));
Console.WriteLine($"Test mails: accuracy {metrics.Accuracy:F3}, AUC {metrics.AreaUnderRocCurve:F3}");

ml.Model.Save(model, trainData.Schema, "spam.zip");
var other = new MLContext();
var loaded = other.Model.Load("spam.zip", out _);
var engine = other.Model.CreatePredictionEngine<Mail, Prediction>(loaded);
var reloaded = other.BinaryClassification.Evaluate(loaded.Transform(other.Data.LoadFromEnumerable(test)));
Console.WriteLine($"Reloaded from spam.zip: AUC {reloaded.AreaUnderRocCurve:F3} (same as before: {reloaded.AreaUnderRocCurve == metrics.AreaUnderRocCurve})");
var first = engine.Predict(test[0]);
Console.WriteLine($"\"{test[0].Text[..Math.Min(60, test[0].Text.Length)].ReplaceLineEndings(" ")}...\": spam {first.PredictedLabel}, p = {first.Probability:F3}");
return reloaded.AreaUnderRocCurve == metrics.AreaUnderRocCurve ? 0 : 1;

static IEnumerable<Mail> ReadMails(string path)
{
    using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
    while (reader.ReadLine() is { Length: > 0 } line)
    {
        var mail = JsonDocument.Parse(line).RootElement;
        yield return new Mail($"{mail.GetProperty("subject")}\n{mail.GetProperty("body")}",
            mail.GetProperty("label").GetString() == "spam" ? 1 : 0, mail.GetProperty("split").GetString() == "test");
    }
}

record Mail(string Text, float Label, bool IsTest);

class Prediction
{
    public bool PredictedLabel { get; set; }
    public float Probability { get; set; }
}
