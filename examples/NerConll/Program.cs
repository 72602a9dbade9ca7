using System.Diagnostics;
using Microsoft.ML;
using Pipelines;
using Microsoft.ML.Data;
using Pipelines.Examples.Common;

// NER on CoNLL-2003 as an ML.NET pipeline: a cased WordPiece vocabulary and a masked-LM pretrained
// on the training sentences' text (no tags), then a tagger fine-tuned from it on the tagged
// sentences; the epoch is chosen on eng.testa and the entity-level report is on eng.testb. The
// tagger is saved as a model zip, loaded in a new MLContext and tags two sentences.
//   dotnet run -c Release --project examples/NerConll -- [--data folder] [--steps 600] [--epochs 3] [--fraction 0.25] [--device auto]
// Options take "--name value" or "--name=value"; --help lists them with their defaults.
// The defaults make a run of minutes; the ner benchmark runs the full-size comparison.

var command = new ExampleCommand("NER on CoNLL-2003 as an ML.NET pipeline: masked-LM pretraining on the training text, then a tagger, with the entity-level report.");
var dataOption = command.Data(Conll2003.DefaultFolder ?? Path.Combine("shared", "data", "conll2003"), "the folder of eng.train, eng.testa and eng.testb");
var stepsOption = command.Add("--steps", 600, "masked-LM pretraining steps");
var epochsOption = command.Add("--epochs", 3, "fine-tuning epochs at most (the epoch of the lowest eng.testa loss is kept)");
var fractionOption = command.Add("--fraction", 0.25, "fraction of the tagged training sentences the tagger learns from");
var deviceOption = command.Device();
return command.Run(args, run =>
{
    var folder = run.GetRequiredValue(dataOption);
    if (!File.Exists(Path.Combine(folder, "eng.train")))
    {
        Console.Error.WriteLine("CoNLL-2003 is not shipped with this project: its text derives from the Reuters corpus and is for research use.");
        Console.Error.WriteLine("Put eng.train, eng.testa and eng.testb in shared/data/conll2003 beside the repository, or pass --data=<folder>.");
        return 2;
    }
    var options = new NerOptions { PretrainSteps = run.GetRequiredValue(stepsOption), Device = run.GetRequiredValue(deviceOption) };
    var epochs = run.GetRequiredValue(epochsOption);
    var fraction = run.GetRequiredValue(fractionOption);
    var output = Path.Combine("runs", "ner-conll");
    var clock = Stopwatch.StartNew();

    var train = Conll2003.Read(Path.Combine(folder, "eng.train"));
    var dev = Conll2003.Read(Path.Combine(folder, "eng.testa"));
    var test = Conll2003.Read(Path.Combine(folder, "eng.testb"));
    Console.WriteLine($"CoNLL-2003: {train.Count:N0} training, {dev.Count:N0} validation (testa), {test.Count:N0} test (testb) sentences");

    var ml = new MLContext(seed: 1);
    var tokenizer = NerExperiment.Tokenizer(train, options);
    var pretrained = TrainingDisplay.Run("masked-LM pretraining", progress => NerExperiment.Pretrain(ml, tokenizer, train, options, progress));
    var validations = pretrained.Training!.Validations;
    Console.WriteLine($"pretrained in {clock.Elapsed.TotalMinutes:F1} min: validation perplexity {validations[0].Perplexity:F0} -> {validations[^1].Perplexity:F0}");
    LossCurves.Write(pretrained.Training, output, "pretraining", "Masked-LM pretraining on CoNLL-2003 training text");

    var tokenize = NerExperiment.Tokenize(ml, tokenizer, options);
    var validation = tokenize.Fit(ml.Data.LoadFromEnumerable(dev)).Transform(ml.Data.LoadFromEnumerable(dev));
    var sentences = NerExperiment.Sample(train, fraction);
    Console.WriteLine($"fine-tuning the tagger (with a CRF layer) on {sentences.Count:N0} tagged sentences for up to {epochs} epochs ...");
    // The CRF learns which tag follows which: +0.13 micro F1 at 10 % of the sentences in the ner benchmark.
    var model = NerExperiment.Tagger(ml, tokenizer, pretrained, sentences, validation, epochs, options, crf: true);
    var metrics = ml.MulticlassClassification.EvaluateEntities(model.Transform(ml.Data.LoadFromEnumerable(test)));
    Console.WriteLine();
    Console.WriteLine("entity-level scores on eng.testb (exact span and type):");
    Console.WriteLine(metrics);

    Directory.CreateDirectory(output);
    var zip = Path.Combine(output, "tagger.zip");
    ml.Model.SaveAtomically(model, null, zip);
    var loaded = new MLContext().Model.Load(zip, out _);
    var examples = new[]
    {
        new TaggedSentence { Sentence = "EU rejects German call to boycott British lamb ." },
        new TaggedSentence { Sentence = "Angela Merkel met officials of the United Nations in Geneva on Monday ." },
    };
    var tagged = loaded.Transform(ml.Data.LoadFromEnumerable(examples)).GetColumn<VBuffer<ReadOnlyMemory<char>>>("PredictedLabel").ToList();
    Console.WriteLine($"saved to {zip}; loaded in a new MLContext, it tags:");
    for (var i = 0; i < examples.Length; i++)
        Console.WriteLine("  " + string.Join(' ', examples[i].Sentence.Split(' ').Zip(tagged[i].DenseValues(), (w, t) => t.ToString() == "O" ? w : $"{w}/{t}")));
    Console.WriteLine($"total {clock.Elapsed.TotalMinutes:F1} min");
    return 0;
});
