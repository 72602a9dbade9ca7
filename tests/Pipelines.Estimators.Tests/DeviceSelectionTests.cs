using Microsoft.ML;
using TorchSharp;

namespace Pipelines.Estimators.Tests;

[TestClass]
public sealed class DeviceSelectionTests
{
    [TestMethod]
    public void TheChosenDeviceIsLoggedThroughMLContext()
    {
        var ml = new MLContext();
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };

        var device = DeviceSelection.Select(ml, "cpu", "Pretraining");

        Assert.AreEqual(DeviceType.CPU, device.type);
        Assert.IsTrue(messages.Any(m => m.Contains("Pretraining: device cpu (") && m.Contains("option 'cpu'")),
            string.Join("\n", messages));
    }
}
