/** One SFT example: the model reads the prompt and is trained on the response. */
export interface Sample {
  prompt: string;
  response: string;
}
