using System.Text;
using Pipelines.Models.Checkpoints;
using static TorchSharp.torch;
using static Pipelines.Models.Tests.Checkpoints.SafeTensorsTestFiles;

namespace Pipelines.Models.Tests.Checkpoints;

/// <summary>Every way a header or a file can be wrong ends in InvalidDataException naming the tensor and the problem.</summary>
[TestClass]
public sealed class SafeTensorsMalformedTests
{
    private const string W = """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";

    [TestMethod]
    public void AWellFormedFileOfTheseTestsIsAccepted()
    {
        using var file = SafeTensors.Read(new MemoryStream(Build(W, 8)));
        CollectionAssert.AreEqual(new long[] { 2 }, file["w"].Tensor.shape);
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(5)]
    public void FilesShorterThanTheLengthFieldAreRejected(int length) =>
        AssertRejected(new byte[length], $"{length} bytes long", "8-byte header length");

    [TestMethod]
    public void AHeaderLengthPastTheEndOfTheFileIsRejected() =>
        AssertRejected(Build(Encoding.UTF8.GetBytes(W), new byte[8], declaredHeaderLength: 1000), "header length is 1000 bytes", "only");

    [TestMethod]
    [DataRow(100_000_001UL)]
    [DataRow(1UL << 40)]
    [DataRow(ulong.MaxValue)]
    public void HugeHeaderLengthsAreRejectedBeforeAnyAllocation(ulong declared) =>
        AssertRejected(Build(Encoding.UTF8.GetBytes(W), new byte[8], declared), $"header length is {declared} bytes", "limit");

    [TestMethod]
    public void AFileCutShortInItsDataIsRejectedNamingTheTensor()
    {
        var file = Build(W, 8);
        AssertRejected(file[..^1], "tensor 'w'", "data_offsets [0, 8]", "outside the 7 bytes");
    }

    [TestMethod]
    public void AFileCutShortInItsHeaderIsRejected()
    {
        var file = Build(W, 8);
        AssertRejected(file[..20], "header length", "only 12 bytes");
    }

    [TestMethod]
    public void AHeaderThatIsNotUtf8IsRejected()
    {
        var header = Encoding.UTF8.GetBytes("""{"wé":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""");
        var index = Array.IndexOf(header, (byte)0xC3);
        header[index] = 0xFF; // a byte that never occurs in UTF-8
        AssertRejected(Build(header, new byte[8]), "not valid UTF-8");
    }

    // Header text, data length, fragments the message must contain.
    [TestMethod]
    [DataRow("", 0, "empty")]
    [DataRow("""   {"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8, "starting with '{'")]
    [DataRow("""[{"dtype":"F32"}]""", 0, "starting with '{'")]
    [DataRow("\"text\"", 0, "starting with '{'")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", 8, "not valid JSON")]
    [DataRow("""{"w":{"dtype":"F32",}}""", 0, "not valid JSON")]
    [DataRow("""{"w":5}""", 0, "tensor 'w'", "must be described by an object", "a number")]
    [DataRow("""{"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}""", 8, "tensor 'w'", "unknown dtype 'F33'")]
    [DataRow("""{"w":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}}""", 4, "tensor 'w'", "U16", "cannot hold")]
    [DataRow("""{"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}}""", 8, "tensor 'w'", "string 'dtype'", "a number")]
    [DataRow("""{"w":{"shape":[2],"data_offsets":[0,8]}}""", 8, "tensor 'w'", "'dtype'", "has none")]
    [DataRow("""{"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8, "tensor 'w'", "'dtype' more than once")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16, "tensor 'w'", "more than once")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,8]}}""", 8, "tensor 'w'", "negative dimension -3")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}""", 8, "tensor 'w'", "2.5", "not an integer")]
    [DataRow("""{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}""", 8, "tensor 'w'", "not an integer")]
    [DataRow("""{"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}""", 8, "tensor 'w'", "'shape' array")]
    [DataRow("""{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}""", 8, "tensor 'w'", "too large")]
    [DataRow("""{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}""", 8, "tensor 'w'", "not an integer")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}""", 8, "tensor 'w'", "[begin, end]")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,16]}}""", 8, "tensor 'w'", "[begin, end]")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", 8, "tensor 'w'", "data offset -8")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", 8, "tensor 'w'", "end before they begin")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}""", 20, "tensor 'w'", "F32", "[2, 3]", "need 24 bytes", "span 20")]
    [DataRow("""{"w":{"dtype":"BF16","shape":[],"data_offsets":[0,4]}}""", 4, "tensor 'w'", "need 2 bytes", "span 4")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "tensor 'w'", "outside the 4 bytes")]
    [DataRow("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}""", 8, "tensor 'w'", "outside the 8 bytes")]
    [DataRow("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "tensor 'b'", "overlaps tensor 'a'")]
    [DataRow("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8, "overlaps", "'a'", "'b'")]
    [DataRow("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, "bytes 4 to 8", "before tensor 'b'", "holes")]
    [DataRow("""{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "bytes 0 to 4", "before tensor 'b'")]
    [DataRow("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 8, "last 4 bytes", "after tensor 'a'")]
    [DataRow("""{}""", 8, "no tensors", "8 bytes")]
    [DataRow("""{"__metadata__":{"k":1},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8, "'__metadata__' entry 'k'", "must be a string")]
    [DataRow("""{"__metadata__":["k"]}""", 0, "'__metadata__'", "object of strings")]
    [DataRow("""{"__metadata__":{},"__metadata__":{}}""", 0, "'__metadata__' appears more than once")]
    [DataRow("""{"__metadata__":{"k":"a","k":"b"}}""", 0, "'k'", "more than once")]
    public void MalformedHeadersAreRejectedNamingTheProblem(string header, int dataLength, params string[] fragments) =>
        AssertRejected(Build(header, dataLength), fragments);

    [TestMethod]
    public void BooleansOtherThanZeroOrOneAreRejected()
    {
        var file = Build(Encoding.UTF8.GetBytes("""{"flags":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}}"""), [1, 0, 2]);
        AssertRejected(file, "tensor 'flags'", "byte 2", "element 2");
    }

    [TestMethod]
    public void SpacePaddingAnEmptyFileAndUnknownFieldsAreAccepted()
    {
        using (var empty = SafeTensors.Read(new MemoryStream(Build("{}      ", 0))))
            Assert.IsEmpty(empty.Entries);
        using var padded = SafeTensors.Read(new MemoryStream(Build("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":[1]}}   """, 8)));
        Assert.HasCount(1, padded.Entries);
    }

    [TestMethod]
    public void ReadingFromAPathNamesThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pipelines-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, Build(W, 4));
            var e = Assert.ThrowsExactly<InvalidDataException>(() => SafeTensors.Read(path).Dispose());
            Assert.Contains(path, e.Message);
            Assert.Contains("tensor 'w'", e.Message);
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void AFailedReadLeavesNoTensorsBehind()
    {
        // The first tensor is read before the second turns out bad; the reader must free it.
        var before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var file = Build(Encoding.UTF8.GetBytes("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"flags":{"dtype":"BOOL","shape":[1],"data_offsets":[4,5]}}"""), [0, 0, 0, 0, 9]);
        AssertRejected(file, "tensor 'flags'");
        Assert.AreEqual(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
