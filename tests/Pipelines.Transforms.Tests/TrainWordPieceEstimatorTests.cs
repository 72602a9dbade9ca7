using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class TrainWordPieceEstimatorTests
{
    private sealed class Row
    {
        public string Text { get; set; } = "";
    }

    private static IDataView Corpus(MLContext ml) => ml.Data.LoadFromEnumerable(
        new[] { "the cat sat on the mat", "the cats sat", "a cat is playing", "cats are playing" }.Select(t => new Row { Text = t }));

    [TestMethod]
    public void FitTrainsTheVocabularyOnTheColumnAndTokenizesWithIt()
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Transforms.Text.TrainWordPiece("Tokens", "Text", vocabularySize: 40).Fit(Corpus(ml));
        var expected = WordPieceTrainer.TrainTokenizer(["the cat sat on the mat", "the cats sat", "a cat is playing", "cats are playing"], new WordPieceTrainerOptions { VocabularySize = 40 });
        Assert.AreEqual(expected.VocabSize, model.Tokenizer.VocabSize);
        var ids = model.Transform(Corpus(ml)).GetColumn<int[]>("Tokens").First();
        CollectionAssert.AreEqual(expected.Encode("the cat sat on the mat").Ids, ids);
        Assert.AreEqual(0, model.Transform(Corpus(ml)).GetColumn<int[]>("Tokens").SelectMany(r => r).Count(id => id == model.Tokenizer.UnknownId));
    }

    [TestMethod]
    public void TrainedModelSavesAndReloadsWithItsVocabulary()
    {
        var path = Path.Combine(Path.GetTempPath(), $"wordpiece-{Guid.NewGuid():N}.zip");
        try
        {
            var ml = new MLContext(seed: 1);
            var data = Corpus(ml);
            var model = ml.Transforms.Text.TrainWordPiece("Tokens", "Text", vocabularySize: 40).Fit(data);
            ml.Model.Save(model, data.Schema, path);
            var loaded = new MLContext().Model.Load(path, out _);
            var before = model.Transform(data).GetColumn<int[]>("Tokens").ToArray();
            var after = loaded.Transform(data).GetColumn<int[]>("Tokens").ToArray();
            for (var i = 0; i < before.Length; i++) CollectionAssert.AreEqual(before[i], after[i]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void MissingTextColumnFailsBeforeTraining()
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Text.TrainWordPiece("Tokens", "Body").Fit(Corpus(ml)));
        StringAssert.Contains(e.Message, "Could not find input column 'Body'");
    }
}
