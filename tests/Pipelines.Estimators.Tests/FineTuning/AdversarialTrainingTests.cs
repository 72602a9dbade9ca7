using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Estimators.Tests.Reliability;

namespace Pipelines.Estimators.Tests.FineTuning;

/// <summary>AdversarialEpsilon and AdversarialSteps (FGM and PGD on the word embeddings) act in both fine-tuning trainers and is refused where embeddings are frozen.</summary>
[TestClass]
public sealed class AdversarialTrainingTests
{
    private static float[] ClassifierProbabilities(double epsilon, FineTuneStrategy strategy = FineTuneStrategy.Full, int steps = 1, double stepSize = 0)
    {
        var ml = new MLContext(seed: 1);
        var data = TinyModels.Data(ml, TinyModels.Mails.Take(40));
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
            {
                Tokenizer = TinyModels.Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxEpoch = 1, BatchSize = 16,
                Device = "cpu", Seed = 1, AdversarialEpsilon = epsilon, Strategy = strategy,
                AdversarialSteps = steps, AdversarialStepSize = stepSize,
            }))
            .Fit(data);
        return model.Transform(data).GetColumn<float>("Probability").ToArray();
    }

    [TestMethod]
    public void FgmTrainsAnotherClassifierAndNeedsTrainableEmbeddings()
    {
        var plain = ClassifierProbabilities(0);
        CollectionAssert.AreEqual(plain, ClassifierProbabilities(0), "the same seed trains the same model");
        Assert.IsGreaterThan(1e-4, plain.Zip(ClassifierProbabilities(1.0), (a, b) => Math.Abs(a - b)).Max(), "FGM trains another model");
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => ClassifierProbabilities(1.0, FineTuneStrategy.LoRA)).Message, "freezes them");
    }

    [TestMethod]
    public void PgdStepsTrainAnotherClassifierThanFgmAndBadStepsAreRefused()
    {
        var fgm = ClassifierProbabilities(1.0);
        var pgd = ClassifierProbabilities(1.0, steps: 3);
        Assert.IsGreaterThan(1e-4, fgm.Zip(pgd, (a, b) => Math.Abs(a - b)).Max(), "PGD trains another model than FGM");
        Assert.IsGreaterThan(1e-4, pgd.Zip(ClassifierProbabilities(1.0, steps: 3, stepSize: 0.05), (a, b) => Math.Abs(a - b)).Max(), "the step size changes PGD");
        StringAssert.Contains(Assert.Throws<ArgumentOutOfRangeException>(() => ClassifierProbabilities(1.0, steps: 0)).Message, "AdversarialSteps");
    }

    [TestMethod]
    public void FgmTrainsAnotherTagger()
    {
        string[] Tags(double epsilon)
        {
            var ml = new MLContext(seed: 1);
            var train = SyntheticNer.Make(48, seed: 1);
            var tokenizer = SyntheticNer.Tokenizer(train);
            var data = ml.Data.LoadFromEnumerable(train);
            var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Sentence", tokenizer, maxLength: 32)
                .Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(new TokenClassifierOptions
                {
                    Tokenizer = tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 32, MaxEpoch = 2, BatchSize = 16,
                    LearningRate = 3e-3, Device = "cpu", Seed = 3, AdversarialEpsilon = epsilon,
                }))
                .Fit(data);
            return model.Transform(data).GetColumn<VBuffer<ReadOnlyMemory<char>>>("PredictedLabel")
                .SelectMany(v => v.DenseValues().Select(t => t.ToString())).ToArray();
        }
        var plain = Tags(0);
        Assert.IsGreaterThan(0, plain.Zip(Tags(3.0), (a, b) => a != b).Count(d => d), "FGM trains another tagger");
    }
}
