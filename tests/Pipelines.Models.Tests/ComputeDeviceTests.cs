using TorchSharp;

namespace Pipelines.Models.Tests;

[TestClass]
public sealed class ComputeDeviceTests
{
    [TestMethod]
    [DataRow(null)]
    [DataRow("")]
    [DataRow("auto")]
    [DataRow(" AUTO ")]
    public void AutoPicksCudaOnlyWhenAvailable(string? option)
    {
        var device = ComputeDevice.Resolve(option);
        Assert.AreEqual(torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, device.type);
    }

    [TestMethod]
    public void CpuIsAlwaysCpu()
    {
        Assert.AreEqual(DeviceType.CPU, ComputeDevice.Resolve("cpu").type);
        StringAssert.StartsWith(ComputeDevice.Describe(torch.CPU), "cpu (");
    }

    [TestMethod]
    [DataRow("gpu")]
    [DataRow("cuda:x")]
    [DataRow("cuda:-1")]
    [DataRow("cpu:0")]
    public void MalformedOptionsAreRejectedWithTheAcceptedForms(string option)
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ComputeDevice.Resolve(option));
        StringAssert.Contains(e.Message, option);
    }

    [TestMethod]
    public void CudaWithoutAGpuSaysHowToGetOne()
    {
        if (torch.cuda.is_available()) Assert.Inconclusive("A GPU is present; this test covers machines without one.");
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => ComputeDevice.Resolve("cuda:0"));
        StringAssert.Contains(e.Message, "TorchSharpBackend=cuda");
    }
}
