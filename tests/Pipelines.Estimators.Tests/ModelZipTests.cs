using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Estimators.Tests;

/// <summary>
/// A transformer holding TorchSharp weights saves into an ML.NET zip and loads in a new MLContext
/// with identical outputs. Fails if the build's publicized ML.NET references or the
/// IgnoresAccessChecksTo attribute are removed (then it does not compile, or throws
/// MethodAccessException at run time).
/// </summary>
[TestClass]
public sealed class ModelZipTests
{
    private sealed class Row
    {
        [VectorType(4)] public float[] Input { get; set; } = [];
    }

    private static IDataView Data(MLContext ml) => ml.Data.LoadFromEnumerable(
        Enumerable.Range(0, 5).Select(i => new Row { Input = [i, -i, 0.5f * i, 1] }));

    private static float[][] Outputs(IDataView transformed) =>
        transformed.GetColumn<float[]>("Output").ToArray();

    [TestMethod]
    public void TorchWeightsRoundTripThroughAModelZip()
    {
        var path = Path.Combine(Path.GetTempPath(), $"linear-{Guid.NewGuid():N}.zip");
        try
        {
            var ml = new MLContext(seed: 1);
            var data = Data(ml);
            using var transformer = new LinearTorchTransformer(ml, "Output", "Input", 4, 3, seed: 7);
            var before = Outputs(transformer.Transform(data));
            ml.Model.Save(transformer, data.Schema, path);

            var other = new MLContext(seed: 2);
            var loaded = other.Model.Load(path, out var inputSchema);
            Assert.IsInstanceOfType<LinearTorchTransformer>(loaded);
            Assert.AreEqual(data.Schema["Input"].Type, inputSchema["Input"].Type);
            var after = Outputs(loaded.Transform(Data(other)));

            Assert.HasCount(5, after);
            for (var i = 0; i < before.Length; i++)
                CollectionAssert.AreEqual(before[i], after[i], $"row {i}");
            // The weights are real: different rows give different outputs.
            CollectionAssert.AreNotEqual(before[1], before[2]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void PredictionEngineUsesTheLoadedWeights()
    {
        var path = Path.Combine(Path.GetTempPath(), $"linear-{Guid.NewGuid():N}.zip");
        try
        {
            var ml = new MLContext(seed: 1);
            var data = Data(ml);
            using var transformer = new LinearTorchTransformer(ml, "Output", "Input", 4, 3, seed: 3);
            ml.Model.Save(transformer, data.Schema, path);
            var expected = Outputs(transformer.Transform(data))[2];

            var other = new MLContext();
            var engine = other.Model.CreatePredictionEngine<Row, Prediction>(other.Model.Load(path, out _));
            CollectionAssert.AreEqual(expected, engine.Predict(new Row { Input = [2, -2, 1, 1] }).Output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class Prediction
    {
        public float[] Output { get; set; } = [];
    }
}
