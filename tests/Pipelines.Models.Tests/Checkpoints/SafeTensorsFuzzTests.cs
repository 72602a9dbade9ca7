using System.Diagnostics;
using Pipelines.Models.Checkpoints;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Checkpoints;

[TestClass]
public sealed class SafeTensorsFuzzTests
{
    /// <summary>
    /// 500 random single-byte changes and truncations of a valid file: each must read or be
    /// refused with InvalidDataException, never another exception, a crash or a hang.
    /// </summary>
    [TestMethod]
    [Timeout(60_000)]
    public void MutatedFilesEitherReadOrFailWithInvalidDataException()
    {
        byte[] valid;
        using (var scope = NewDisposeScope())
        {
            random.manual_seed(3);
            var stream = new MemoryStream();
            SafeTensors.Save(stream,
            [
                new("w", randn(2, 3)), new("ids", tensor(new[] { 1L, -2L })), new("flags", tensor(new[] { true, false, true })),
                new("half", randn(2).to_type(ScalarType.BFloat16)), new("none", zeros(0, 2)), new("s", tensor(5)),
            ], new Dictionary<string, string> { ["format"] = "pt" });
            valid = stream.ToArray();
        }

        var rng = new Random(12345);
        var (accepted, rejected) = (0, 0);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 500; i++)
        {
            var file = (byte[])valid.Clone();
            string change;
            if (i % 5 == 4)
            {
                var length = rng.Next(valid.Length);
                file = file[..length];
                change = $"truncated to {length} bytes";
            }
            else
            {
                var position = rng.Next(valid.Length);
                file[position] = (byte)rng.Next(256);
                change = $"byte {position} set to 0x{file[position]:X2}";
            }

            using var scope = NewDisposeScope();
            try
            {
                using var read = SafeTensors.Read(new MemoryStream(file));
                accepted++;
            }
            catch (InvalidDataException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"Mutation {i} ({change}) threw {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.AreEqual(500, accepted + rejected);
        Assert.IsGreaterThan(100, rejected, "most mutations break the file");
        Assert.IsGreaterThan(10, accepted, "changes inside the data keep it valid");
        Assert.IsLessThan(10_000L, clock.ElapsedMilliseconds);
    }
}
